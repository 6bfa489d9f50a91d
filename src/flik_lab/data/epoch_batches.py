"""Index batches that depend only on (seed, epoch), and that continue an interrupted epoch where it stopped.

Every DataModule builds its training batches this way, so a run resumed from any checkpoint (an epoch's end
or a SIGTERM in the middle of one) sees exactly the batches the uninterrupted run would have seen.
"""

from collections.abc import Callable, Iterable, Iterator

import numpy as np
import torch
from torch.utils.data import Sampler


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


class EpochBatches(Sampler[list[int]]):
    """Batches of `batch_size` indices of a `SeededPermutation`; a short last one dropped if `drop_last`."""

    def __init__(self, n: int, batch_size: int, shuffle: bool, drop_last: bool, seed: int = 0):
        self.sampler = SeededPermutation(n, shuffle, seed)  # Lightning sets the epoch through `.sampler`
        self.batch_size, self.drop_last = batch_size, drop_last

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        order = self.sampler.order()
        for i in range(len(self)):
            yield order[i * self.batch_size : (i + 1) * self.batch_size].tolist()


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
        if callable(getattr(self.batches, "set_epoch", None)):
            self.batches.set_epoch(epoch)

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
