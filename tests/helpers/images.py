"""Tiny data sets written in the real on-disk formats that torchvision reads."""

import struct
from pathlib import Path

import numpy as np
from PIL import Image
from torchvision.datasets import CelebA

from flik_lab.data.unpaired import CELEBA_ATTRIBUTES

CELEBA_ATTRS = list(CELEBA_ATTRIBUTES)  # the 40 names of list_attr_celeba.txt


def write_mnist_raw(root: Path, n_train: int = 30, n_test: int = 10, seed: int = 0) -> Path:
    """torchvision's `MNIST/raw/*-ubyte` IDX files with random digits; returns the raw folder."""
    rng = np.random.default_rng(seed)
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(
            struct.pack(">IIII", 0x803, n, 28, 28) + images.tobytes()
        )
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 0x801, n) + labels.tobytes())
    return raw


def write_celeba_tree(root: Path, per_split: int = 4, seed: int = 0) -> Path:
    """`celeba/img_align_celeba/*.jpg` plus the five annotation files; returns `root/celeba`."""
    rng = np.random.default_rng(seed)
    folder = root / CelebA.base_folder
    images = folder / "img_align_celeba"
    images.mkdir(parents=True, exist_ok=True)
    names = [f"{i + 1:06d}.jpg" for i in range(3 * per_split)]
    for name in names:  # aligned CelebA images are 178x218 RGB JPEGs
        pixels = rng.integers(0, 256, (218, 178, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(images / name, quality=90)
    attrs = rng.choice([-1, 1], (len(names), len(CELEBA_ATTRS)))
    landmarks = [
        "lefteye_x",
        "lefteye_y",
        "righteye_x",
        "righteye_y",
        "nose_x",
        "nose_y",
        "leftmouth_x",
        "leftmouth_y",
        "rightmouth_x",
        "rightmouth_y",
    ]
    n = len(names)
    files = {
        "list_eval_partition.txt": [f"{m} {i // per_split}" for i, m in enumerate(names)],
        "identity_CelebA.txt": [f"{m} {i % 3 + 1}" for i, m in enumerate(names)],
        "list_bbox_celeba.txt": [str(n), "image_id x_1 y_1 width height"]
        + [f"{m} 95 71 226 313" for m in names],
        "list_landmarks_align_celeba.txt": [str(n), " ".join(landmarks)]
        + [f"{m} 69 109 106 113 77 142 73 152 108 154" for m in names],
        "list_attr_celeba.txt": [str(n), " ".join(CELEBA_ATTRS)]
        + [f"{m} " + " ".join(str(v) for v in row) for m, row in zip(names, attrs, strict=True)],
    }
    for name, lines in files.items():
        (folder / name).write_text("\n".join(lines) + "\n")
    return folder
