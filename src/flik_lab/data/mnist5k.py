"""`data=mnist5k`: 5,000 real MNIST digits shipped inside the package (works offline)."""

from importlib import resources

import numpy as np
import torch
from torch.utils.data import TensorDataset

from flik_lab.data.image_tensors import ImageTensorDataModule, seeded_split
from flik_lab.data.splits import held_out
from flik_lab.images import to_unit_range
from flik_lab.utils.errors import InputError

ASSET = "mnist5k.npz"


def load_mnist5k() -> tuple[torch.Tensor, torch.Tensor]:
    """The shipped digits: uint8 images `(5000, 28, 28)` and int64 labels `(5000,)`."""
    with resources.as_file(resources.files("flik_lab.assets") / ASSET) as path:
        with np.load(path) as archive:
            return torch.from_numpy(archive["images"]), torch.from_numpy(archive["labels"]).long()


class MNIST5kDataModule(ImageTensorDataModule):
    """The 5,000 digits split by seed into train / val / test (default 4,000 / 500 / 500)."""

    image_kind = "mnist"  # what `latent arithmetic` labels: digits 0-9

    def __init__(
        self,
        batch_size: int = 64,
        eval_batch_size: int = 500,
        val_size: float = 500,
        test_size: float = 500,
        seed: int = 0,
        on_device: bool = True,
    ):
        super().__init__(batch_size, eval_batch_size, seed, on_device)
        self.val_size, self.test_size = val_size, test_size

    def load_splits(self) -> tuple[TensorDataset, TensorDataset, TensorDataset]:
        images, labels = load_mnist5k()
        val_size = held_out(self.val_size, len(images), "data.val_size", "shipped digits")
        test_size = held_out(self.test_size, len(images), "data.test_size", "shipped digits")
        n_train = len(images) - val_size - test_size
        if n_train < self.batch_size:
            raise InputError(
                f"val_size={self.val_size} + test_size={self.test_size} leave {n_train} of "
                f"{len(images)} digits for training, fewer than batch_size={self.batch_size}"
            )
        images = to_unit_range(images)
        splits = seeded_split(len(images), [n_train, val_size, test_size], self.seed)
        return tuple(TensorDataset(images[idx], labels[idx]) for idx in splits)
