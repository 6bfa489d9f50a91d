"""Index batches that depend only on (seed, epoch), and that continue an interrupted epoch where it stopped.

Every DataModule builds its training batches this way, so a run resumed from any checkpoint (an epoch's end
or a SIGTERM in the middle of one) sees exactly the batches the uninterrupted run would have seen.
"""

from collections.abc import Callable, Iterable, Iterator

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, Sampler


class SeededPermutation(Sampler[int]):
    """All indices once, shuffled by `(seed, epoch)` (or in order); `set_epoch` picks the epoch."""

    def __init__(self, n: int, shuffle: bool = True, seed: int = 0):
        self.n, self.shuffle, self.seed, self.epoch = n, shuffle, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def rng(self, stream: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, stream])

    def order(self) -> np.ndarray:
        return self.rng(0).permutation(self.n) if self.shuffle else np.arange(self.n)

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        return iter(self.order().tolist())


def epoch_batches(n: int, batch_size: int, shuffle: bool, drop_last: bool, seed: int = 0) -> BatchSampler:
    """torch's `BatchSampler` over a `SeededPermutation`: batches of `(seed, epoch)` only."""
    return BatchSampler(SeededPermutation(n, shuffle, seed), batch_size, drop_last)


def set_epoch(batches: Sampler, epoch: int) -> None:
    """Set the epoch of `batches`, or of the index sampler inside it (torch's `BatchSampler` has none)."""
    for holder in (batches, getattr(batches, "sampler", None)):
        if callable(getattr(holder, "set_epoch", None)):
            holder.set_epoch(epoch)
            return


class ResumableBatches(Sampler[list[int]]):
    """`batches` without the first `trained()` ones, asked when iteration starts.

    Lightning restores its batch counter from a mid-epoch checkpoint but replays the data from the start
    unless the loader skips what was trained; `__len__` stays the whole epoch because Lightning adds the
    restored count itself. The skip is read lazily: Lightning creates the iterator before it restores the
    loop's restart stage and sets the sampler's epoch.
    """

    def __init__(self, batches: Iterable[list[int]], trained: Callable[[], int]):
        self.batches, self.trained = batches, trained
        self.sampler = getattr(batches, "sampler", None)

    def set_epoch(self, epoch: int) -> None:
        set_epoch(self.batches, epoch)

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[list[int]]:
        skip = self.trained()
        for i, batch in enumerate(self.batches):
            if i >= skip:
                yield batch


def loader_generator(seed: int) -> torch.Generator:
    """A DataLoader's own generator: without one, every `iter(loader)` draws its worker seed from the global
    random state, so validation would shift the training randomness and a resumed run would differ."""
    return torch.Generator().manual_seed(seed)


def batch_loader(
    dataset: Dataset, batch_sampler: Iterable, num_workers: int, seed: int, collate_fn: Callable | None = None
) -> DataLoader:
    """The DataModules' loader over `batch_sampler`'s index batches: seeded (`loader_generator`), workers kept
    between epochs, memory pinned when there is a GPU; `collate_fn=None` is PyTorch's default collate."""
    return DataLoader(
        dataset,
        batch_sampler=batch_sampler,
        collate_fn=collate_fn,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        pin_memory=torch.cuda.is_available(),
        generator=loader_generator(seed),
    )
