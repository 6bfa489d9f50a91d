"""Split batches across DDP ranks: the config states the global batch size, each rank draws its share."""

from collections.abc import Iterable, Iterator

import lightning as L
from torch.utils.data import Sampler

from flik_lab.data.epoch_batches import ResumableBatches, set_epoch
from flik_lab.utils.errors import InputError
from flik_lab.utils.lightning_internals import batches_trained_this_epoch


def world_and_rank(trainer: L.Trainer | None) -> tuple[int, int]:
    """(world size, global rank) of the attached trainer; (1, 0) outside one."""
    return (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)


def per_rank_batch_size(global_batch_size: int, world_size: int, key: str = "data.batch_size") -> int:
    """`global_batch_size / world_size`; an error naming `key` when it does not divide."""
    if global_batch_size % world_size:
        raise InputError(
            f"{key}={global_batch_size} is the global batch size and must divide across the {world_size} "
            f"DDP ranks; use a multiple of {world_size}"
        )
    return global_batch_size // world_size


class ShardedBatchSampler(Sampler[list[int]]):
    """The share of rank `rank` of the batches that every rank builds alike (same seed, same epoch).

    Training (`split=False`): every `world_size`-th batch, the tail cut so that all ranks take the same
    number of steps, as DDP requires. Evaluation (`split=True`): each batch is split across the ranks,
    so every example is seen exactly once and no rank is left without batches.
    """

    def __init__(self, batches: Iterable[list[int]], world_size: int, rank: int, split: bool = False):
        self.batches, self.world_size, self.rank, self.split = batches, world_size, rank, split
        self.sampler = getattr(batches, "sampler", None)  # Lightning calls set_epoch through `.sampler`

    def set_epoch(self, epoch: int) -> None:
        set_epoch(self.batches, epoch)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __iter__(self) -> Iterator[list[int]]:
        batches = [list(batch) for batch in self.batches]
        if self.split:
            return iter([b[self.rank :: self.world_size] for b in batches if len(b) > self.rank])
        batches = batches[: len(batches) // self.world_size * self.world_size]
        return iter(batches[self.rank :: self.world_size])


def rank_batches(batches: Sampler[list[int]], trainer: L.Trainer | None, split: bool) -> Sampler:
    """`batches` as this rank sees them: its DDP share (`split`: each batch divided, for evaluation), and
    for training without the batches a resumed epoch already trained. Every DataModule's loaders use it."""
    world, rank = world_and_rank(trainer)
    if world > 1:
        batches = ShardedBatchSampler(batches, world, rank, split=split)
    if not split:
        batches = ResumableBatches(batches, lambda: batches_trained_this_epoch(trainer))
    return batches
