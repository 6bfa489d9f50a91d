"""DataLoaders over in-memory tensors that index a whole batch at once, sharded across DDP ranks."""

import lightning as L
from torch.utils.data import DataLoader, TensorDataset

from flik_lab.data.epoch_batches import epoch_batches, loader_generator
from flik_lab.data.sharding import rank_batches


def batch_loader(
    dataset: TensorDataset,
    batch_size: int,
    shuffle: bool,
    drop_last: bool,
    seed: int = 0,
    trainer: L.Trainer | None = None,
) -> DataLoader:
    """A DataLoader whose sampler yields index lists: one tensor gather per batch, no collate.

    Per-sample indexing plus `default_collate` costs more than a small GAN step on a GPU. The order depends
    only on (seed, epoch); under DDP every rank builds the same batches and takes its share.
    """
    batches = epoch_batches(len(dataset), batch_size, shuffle, drop_last, seed)
    sampler = rank_batches(batches, trainer, split=not shuffle)
    return DataLoader(dataset, sampler=sampler, batch_size=None, generator=loader_generator(seed))
