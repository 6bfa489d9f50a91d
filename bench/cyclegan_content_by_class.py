"""Where a digits CycleGAN loses content: per-class readings of its test translations (a measurement).

The shipped MNIST classifier (which scores content_a2b / content_b2a) and the typeset reader (which
scores content_a2b_target) read G(a) and F(b) of the 500 + 500 test digits of `experiment=cyclegan_digits`;
real typeset digits, and with `--fonts` each font's digits, are read the same way for comparison. Last, the
pseudo-labels that the model's B readers (their mean, as in training) give the real typeset test digits.
    python bench/cyclegan_content_by_class.py <run>/checkpoints/epoch_007.ckpt [--data-dir data] [--fonts]
        [--typeset-fonts STIXGeneral.ttf,DejaVuSerif.ttf]   # the run's data.fonts, when it set them
"""

import argparse

import numpy as np
import torch

from flik_lab.data.typeset_digits import FONT_FILES, render_typeset_digits
from flik_lab.data.unpaired import UnpairedImageDataModule
from flik_lab.images import to_unit_range
from flik_lab.models.cyclegan import CycleGAN
from flik_lab.models.mnist_classifier import load_pretrained
from flik_lab.models.semantic_consistency import SCORING_READER_SEED, cached_reader
from flik_lab.utils.checkpoint import read_checkpoint

READER_EPOCHS = 30  # StyleTransferScores' default: the cached typeset reader of the runs


def digits_data(data_dir: str, fonts: list[str] | None) -> UnpairedImageDataModule:
    """The test split of conf/data/unpaired_digits.yaml (built here, never from a run's saved config)."""
    data = UnpairedImageDataModule(
        source="digits", data_dir=data_dir, val_size=500, test_size=500, seed=0, fonts=fonts
    )
    data.prepare_data()
    data.setup("test")
    return data


def real(batch: dict, domain: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The real rows of `domain` in an evaluation batch (the shorter domain's rows cycle to fill it)."""
    valid = batch.get(f"valid_{domain}", torch.ones(len(batch[domain]), dtype=torch.bool))
    return batch[domain][valid], batch[f"label_{domain}"][valid]


@torch.no_grad()
def per_class(reader, batches) -> tuple[float, list[float]]:
    """Share of `(images, labels)` batches that `reader` labels right: overall and per class 0-9."""
    hits, counts = torch.zeros(10), torch.zeros(10)
    for images, labels in batches:
        keep = labels >= 0
        right = reader(images[keep].float()).argmax(1) == labels[keep]
        hits += torch.bincount(labels[keep][right], minlength=10)
        counts += torch.bincount(labels[keep], minlength=10)
    return (hits.sum() / counts.sum()).item(), (hits / counts).tolist()


@torch.no_grad()
def font_readings(classifier, renders: int = 60) -> dict[str, list[float]]:
    """Per font, the share of its jittered digits (`renders` per class) that `classifier` reads right, 0-9."""
    shares = {}
    for name in FONT_FILES:
        labels = np.arange(10).repeat(renders)
        images = to_unit_range(torch.from_numpy(render_typeset_digits(labels, seed=7, fonts=[name])))
        right = classifier(images).argmax(1).numpy() == labels
        shares[name] = [right[labels == digit].mean().item() for digit in range(10)]
    return shares


@torch.no_grad()
def pseudo_labels(model: CycleGAN, real_b: list) -> tuple[float, list[float], list[float]]:
    """The B readers' pseudo-labels (as in training) on real typeset digits: share labelled, and per class the
    share labelled and the share of those labelled right."""
    images, labels = (torch.cat(t) for t in zip(*real_b, strict=True))
    predicted = model.readers_b.pseudo_labels(images, model.hparams.pseudo_label_confidence)
    labelled = predicted >= 0
    shares = [labelled[labels == c].float().mean().item() for c in range(10)]
    right = [(predicted[labelled & (labels == c)] == c).float().mean().item() for c in range(10)]
    return labelled.float().mean().item(), shares, right


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ckpt_path")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--fonts", action="store_true", help="also read each font's digits")
    parser.add_argument("--typeset-fonts", help="B's font files, comma-separated (default: all)")
    args = parser.parse_args()
    model = read_checkpoint(args.ckpt_path).model(expect=CycleGAN).eval()
    data = digits_data(args.data_dir, args.typeset_fonts.split(",") if args.typeset_fonts else None)
    batches = list(data.test_dataloader())
    shipped = load_pretrained().eval()
    images, labels = (t.cpu() for t in data.labelled_train_images("b"))
    typeset_reader = cached_reader(
        images, labels, data.cache_dir(), epochs=READER_EPOCHS, seed=SCORING_READER_SEED
    ).eval()
    real_a, real_b = ([real(batch, domain) for batch in batches] for domain in "ab")
    with torch.no_grad():
        fake_b = [(model(images, direction="a2b"), labels) for images, labels in real_a]
        fake_a = [(model(images, direction="b2a"), labels) for images, labels in real_b]
    rows = {
        "G(a), shipped classifier": (shipped, fake_b),
        "F(b), shipped classifier": (shipped, fake_a),
        "real typeset, shipped classifier": (shipped, real_b),
        "G(a), typeset reader": (typeset_reader, fake_b),
    }
    print("| images, reader | all | " + " | ".join(str(c) for c in range(10)) + " |")
    print("|---|---|" + "---|" * 10)
    for name, (reader, pairs) in rows.items():
        total, classes = per_class(reader, pairs)
        print(f"| {name} | {total:.3f} | " + " | ".join(f"{share:.2f}" for share in classes) + " |")
    if model.readers_b is not None:
        confidence = model.hparams.pseudo_label_confidence
        share, labelled, right = pseudo_labels(model, real_b)
        print(f"\nB readers' pseudo-labels (mean >= {confidence}) on real typeset test digits: {share:.2f}")
        print("| class | " + " | ".join(str(c) for c in range(10)) + " |\n|---|" + "---|" * 10)
        print("| labelled | " + " | ".join(f"{x:.2f}" for x in labelled) + " |")
        print("| right, of those labelled | " + " | ".join(f"{x:.2f}" for x in right) + " |")
    if args.fonts:
        print("\n| font file (shipped classifier) | all | " + " | ".join(str(c) for c in range(10)) + " |")
        print("|---|---|" + "---|" * 10)
        for name, shares in font_readings(shipped).items():
            row = " | ".join(f"{x:.2f}" for x in shares)
            print(f"| {name.removesuffix('.ttf')} | {np.mean(shares):.3f} | {row} |")


if __name__ == "__main__":
    main()
