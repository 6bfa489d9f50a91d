"""Index batches of similar lengths, so a padded batch wastes little: the corpora's batch sampler."""

from collections.abc import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler

from flik_lab.data.epoch_batches import SeededPermutation
from flik_lab.utils.errors import InputError


class BucketBatchSampler(Sampler[list[int]]):
    """Index batches of similar lengths: every index once per epoch, the last batch possibly smaller.

    With `bucketing`, the (shuffled) indices are cut into chunks of `batch_size * bucket_factor`, each chunk
    is sorted by length and cut into batches, and the batch order is shuffled. Without it, plain batches.
    Shuffles are seeded by `(seed, epoch)`; Lightning sets the epoch through `batch_sampler.sampler`.
    """

    def __init__(
        self,
        lengths: Sequence[int] | np.ndarray,
        batch_size: int,
        shuffle: bool = True,
        bucketing: bool = True,
        bucket_factor: int = 50,
        seed: int = 0,
    ):
        if batch_size < 1 or bucket_factor < 1:
            raise InputError(f"batch_size and bucket_factor must be >= 1, got {batch_size}, {bucket_factor}")
        self.lengths = np.asarray(lengths)
        self.batch_size, self.bucket_factor, self.bucketing = batch_size, bucket_factor, bucketing
        self.sampler = SeededPermutation(len(self.lengths), shuffle, seed)

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size)

    def _cut(self, order: np.ndarray) -> list[np.ndarray]:
        return [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]

    def __iter__(self) -> Iterator[list[int]]:
        order = self.sampler.order()
        if not self.bucketing:
            batches = self._cut(order)
        else:
            chunk = self.batch_size * self.bucket_factor  # a multiple of batch_size: one short batch at most
            batches = []
            for start in range(0, len(order), chunk):
                part = order[start : start + chunk]
                batches += self._cut(part[np.argsort(self.lengths[part], kind="stable")])
            if self.sampler.shuffle:
                batches = [batches[i] for i in self.sampler.rng(1).permutation(len(batches))]
        for batch in batches:
            yield batch.tolist()


def padding_efficiency(lengths: Sequence[int] | np.ndarray, batches: Iterator[list[int]]) -> float:
    """Real tokens / padded tokens over `batches` of indices into `lengths` (1.0: no padding at all)."""
    lengths = np.asarray(lengths)
    real = padded = 0
    for batch in batches:
        batch_lengths = lengths[batch]
        real += int(batch_lengths.sum())
        padded += int(batch_lengths.max()) * len(batch)
    return real / padded
