"""DataLoaders over in-memory tensors that index a whole batch at once, sharded across DDP ranks."""

import torch
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler, TensorDataset

from flik_lab.data.sharding import ShardedBatchSampler


def batch_loader(
    dataset: TensorDataset,
    batch_size: int,
    shuffle: bool,
    drop_last: bool,
    seed: int | None = None,
    world_size: int = 1,
    rank: int = 0,
) -> DataLoader:
    """A DataLoader whose sampler yields index lists: one tensor gather per batch, no collate.

    Per-sample indexing plus `default_collate` costs more than a small GAN step on a GPU. Under DDP every
    rank shuffles with the same seed and takes its share (see `ShardedBatchSampler`).
    """
    if shuffle:
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        sampler = RandomSampler(dataset, generator=generator)
    else:
        sampler = SequentialSampler(dataset)
    batches = BatchSampler(sampler, batch_size=batch_size, drop_last=drop_last)
    if world_size > 1:
        batches = ShardedBatchSampler(batches, world_size, rank, split=not shuffle)
    return DataLoader(dataset, sampler=batches, batch_size=None)
