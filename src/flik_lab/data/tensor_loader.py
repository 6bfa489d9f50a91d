"""DataLoaders over in-memory tensors that index a whole batch at once, sharded across DDP ranks."""

import lightning as L
from torch.utils.data import DataLoader, Sampler, TensorDataset

from flik_lab.data.epoch_batches import EpochBatches, ResumableBatches, loader_generator
from flik_lab.data.sharding import ShardedBatchSampler, world_and_rank
from flik_lab.utils.lightning_internals import batches_trained_this_epoch


def training_batches(batches: Sampler[list[int]], trainer: L.Trainer | None, split: bool) -> Sampler:
    """`batches` as this rank sees them: its DDP share (`split`: each batch divided, for evaluation), and
    for training without the batches a resumed epoch already trained."""
    world, rank = world_and_rank(trainer)
    if world > 1:
        batches = ShardedBatchSampler(batches, world, rank, split=split)
    if not split:
        batches = ResumableBatches(batches, lambda: batches_trained_this_epoch(trainer))
    return batches


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
    batches = EpochBatches(len(dataset), batch_size, shuffle, drop_last, seed)
    sampler = training_batches(batches, trainer, split=not shuffle)
    return DataLoader(dataset, sampler=sampler, batch_size=None, generator=loader_generator(seed))
