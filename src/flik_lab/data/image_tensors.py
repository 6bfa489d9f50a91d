"""Shared base for image data sets that fit in memory as one tensor, scaled to [-1, 1]."""

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from flik_lab.data.sharding import per_rank_batch_size, world_and_rank
from flik_lab.data.tensor_loader import batch_loader
from flik_lab.utils.errors import InputError


class ImageTensorDataModule(L.LightningDataModule):
    """Subclasses implement `load_splits`; the splits are kept on the training device when it is a GPU."""

    data_kinds = ("images",)  # the `data_kind`s of the models it can feed

    def __init__(
        self, batch_size: int = 64, eval_batch_size: int = 500, seed: int = 0, on_device: bool = True
    ):
        super().__init__()
        if batch_size < 1:
            raise InputError(f"batch_size must be a positive integer, got {batch_size}")
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.seed = seed
        self.on_device = on_device
        self.train_set: TensorDataset | None = None
        self.val_set: TensorDataset | None = None
        self.test_set: TensorDataset | None = None

    def load_splits(self) -> tuple[TensorDataset, TensorDataset, TensorDataset]:
        """Train, validation and test sets of `(images in [-1, 1], labels)`."""
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        splits = self.load_splits()
        device = self.trainer.strategy.root_device if self.trainer is not None else None
        if self.on_device and device is not None and device.type != "cpu":
            # a few hundred MB at most: one copy now instead of a host-to-device copy per batch
            splits = [TensorDataset(*(t.to(device) for t in s.tensors)) for s in splits]
        self.train_set, self.val_set, self.test_set = splits

    def train_dataloader(self) -> DataLoader:
        world, _ = world_and_rank(self.trainer)
        batch_size = per_rank_batch_size(self.batch_size, world)  # the config states the global size
        return batch_loader(self.train_set, batch_size, True, True, self.seed, self.trainer)

    def val_dataloader(self) -> DataLoader:
        return self._eval_loader(self.val_set)

    def test_dataloader(self) -> DataLoader:
        return self._eval_loader(self.test_set)

    def _eval_loader(self, dataset: TensorDataset) -> DataLoader:
        return batch_loader(dataset, self.eval_batch_size, False, False, self.seed, self.trainer)


def seeded_split(n: int, sizes: list[int], seed: int) -> list[torch.Tensor]:
    """Index tensors of the given sizes from a seeded permutation of `range(n)`."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return list(torch.split(order, sizes))
