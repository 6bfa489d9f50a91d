"""Split batches across DDP ranks: the config states the global batch size, each rank draws its share."""

from collections.abc import Iterable, Iterator

import lightning as L
from torch.utils.data import Sampler


def world_and_rank(trainer: L.Trainer | None) -> tuple[int, int]:
    """(world size, global rank) of the attached trainer; (1, 0) outside one."""
    return (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)


def per_rank_batch_size(global_batch_size: int, world_size: int, key: str = "data.batch_size") -> int:
    """`global_batch_size / world_size`; an error naming `key` when it does not divide."""
    if global_batch_size % world_size:
        raise ValueError(
            f"{key}={global_batch_size} is the global batch size and must divide across the {world_size} "
            f"DDP ranks; use a multiple of {world_size}"
        )
    return global_batch_size // world_size


class ShardedBatchSampler(Sampler[list[int]]):
    """Rank `rank` of `world_size` takes every `world_size`-th batch of `batches`.

    Every rank builds the same batches (same seed, same epoch), so the shards are disjoint. With `even`
    (training) the tail is cut so that all ranks run the same number of steps, as DDP requires.
    """

    def __init__(self, batches: Iterable[list[int]], world_size: int, rank: int, even: bool = True):
        self.batches, self.world_size, self.rank, self.even = batches, world_size, rank, even
        self.sampler = getattr(batches, "sampler", None)  # Lightning calls set_epoch through `.sampler`

    def set_epoch(self, epoch: int) -> None:
        if callable(getattr(self.batches, "set_epoch", None)):
            self.batches.set_epoch(epoch)

    def __len__(self) -> int:
        n = len(self.batches)
        return n // self.world_size if self.even else len(range(self.rank, n, self.world_size))

    def __iter__(self) -> Iterator[list[int]]:
        batches = list(self.batches)
        if self.even:
            batches = batches[: len(batches) // self.world_size * self.world_size]
        return iter(batches[self.rank :: self.world_size])
