"""Table of the default-experiment search: last val/fid and how recognisable the final samples are.

"Recognisable" = share of 1,000 samples that the shipped MNIST classifier labels with softmax
confidence >= 0.9 (real held-out digits: see the `real digits` row). Usage:
    python bench/summarize_search.py outputs/search/*
"""

import sys
from pathlib import Path

import pandas as pd
import torch

from flik_lab.data.mnist5k import MNIST5kDataModule
from flik_lab.models.mnist_classifier import load_pretrained
from flik_lab.utils.checkpoint import read_checkpoint


@torch.no_grad()
def confident_share(images: torch.Tensor, threshold: float = 0.9) -> float:
    probs = load_pretrained()(images).softmax(1)
    return (probs.max(1).values >= threshold).float().mean().item()


def main() -> None:
    rows = []
    data = MNIST5kDataModule(seed=0)
    data.setup()
    rows.append({"run": "real digits (val split)", "confident": confident_share(data.val_set.tensors[0])})
    for run in map(Path, sys.argv[1:]):
        metrics = pd.read_csv(run / "csv" / "metrics.csv")
        model = read_checkpoint(run / "checkpoints" / "last.ckpt").model()
        with torch.no_grad():
            samples = model(model.noise(1000, generator=torch.Generator().manual_seed(0)))
        fid = metrics["val/fid"].dropna()
        rows.append(
            {
                "run": run.name,
                "epochs": len(fid),
                "last val/fid": round(fid.iloc[-1], 1),
                "best val/fid": round(fid.min(), 1),
                "confident": confident_share(samples),
            }
        )
    print(pd.DataFrame(rows).to_string(index=False, float_format="{:.3g}".format))


if __name__ == "__main__":
    main()
