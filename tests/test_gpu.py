"""On a CUDA GPU (skipped without one, see conftest.py): `flik-lab train trainer=gpu debug=tiny` for the GAN
and a text model in bf16-mixed, and the in-memory digits kept on the GPU (`data.on_device`).
Nothing here imports wandb or datasets (reviews are read from aclImdb folders): GPU images may lack them."""

import lightning as L
import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from flik_lab.training import train

from .helpers.cli import run_flik_lab
from .helpers.config import compose_config
from .helpers.text import small_lstm, tiny_reviews, write_tiny

pytestmark = pytest.mark.gpu


@pytest.mark.multiprocess
@pytest.mark.parametrize(("family", "metric"), [("gan", "fid"), ("text", "acc")])
def test_train_with_trainer_gpu(family, metric, tmp_path):
    args = []
    if family == "text":
        write_tiny(tmp_path / "data", "aclimdb", *tiny_reviews(300, 100))
        args = small_lstm(tmp_path / "data", 50, width=16, source="aclimdb")
    run = tmp_path / "run"
    result = run_flik_lab(tmp_path, "train", "trainer=gpu", "debug=tiny", *args, f"hydra.run.dir={run}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "GPU available: True (cuda), used: True" in result.stderr  # Lightning's start-up line
    trainer = OmegaConf.load(run / "config.yaml").trainer
    assert (trainer.accelerator, trainer.precision) == ("gpu", "bf16-mixed")
    metrics = pd.read_csv(run / "csv" / "metrics.csv")
    for split in ("val", "test"):
        values = metrics[f"{split}/{metric}"].dropna()
        assert len(values) == 1 and np.isfinite(values).all(), metrics
    assert (run / "checkpoints" / "last.ckpt").is_file()


class WhereThingsAre(L.Callback):
    """Records at the first training batch where the model, the batch and the data module's splits are."""

    def __init__(self):
        self.seen = {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == 0:
            data = trainer.datamodule
            splits = {name: getattr(data, f"{name}_set").tensors[0].device.type for name in ("train", "val")}
            self.seen = {"model": pl_module.device.type, "batch": batch[0].device.type, **splits}


@pytest.mark.parametrize("on_device", [True, False])
def test_in_memory_digits_sit_on_the_gpu(on_device, tmp_path):
    where = WhereThingsAre()
    overrides = ["trainer=gpu", "debug=tiny", f"data.on_device={on_device}", "test=false"]
    train(compose_config("train", tmp_path, overrides), extra_callbacks=[where])
    data = "cuda" if on_device else "cpu"  # on_device=false: a host-to-device copy per batch
    assert where.seen == {"model": "cuda", "batch": "cuda", "train": data, "val": data}
