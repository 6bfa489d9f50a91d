"""Batches across DDP ranks: disjoint equal shards for training, every example once for evaluation."""

import pytest
import torch
from torch.utils.data import BatchSampler, RandomSampler, SequentialSampler

from flik_lab.data.sharding import ShardedBatchSampler, per_rank_batch_size


def _shards(batches_for_rank, world):
    return [list(batches_for_rank(rank)) for rank in range(world)]


def test_training_shards_are_disjoint_and_equally_long():
    def batches(rank):  # every rank builds the same shuffled batches from the same seed
        sampler = RandomSampler(range(103), generator=torch.Generator().manual_seed(0))
        return ShardedBatchSampler(BatchSampler(sampler, 10, drop_last=True), 3, rank)

    shards = _shards(batches, 3)
    assert [len(s) for s in shards] == [3, 3, 3]  # 10 full batches, cut to 9 so that no rank waits
    seen = [i for shard in shards for batch in shard for i in batch]
    assert len(seen) == len(set(seen)) == 90
    assert len(batches(0)) == 3


def test_evaluation_splits_every_batch_so_each_example_is_seen_once():
    def batches(rank):
        return ShardedBatchSampler(BatchSampler(SequentialSampler(range(21)), 8, False), 2, rank, split=True)

    shards = _shards(batches, 2)
    assert sorted(i for shard in shards for batch in shard for i in batch) == list(range(21))
    assert [len(s) for s in shards] == [3, 3] and all(batch for shard in shards for batch in shard)


def test_global_batch_size_must_divide():
    assert per_rank_batch_size(64, 4) == 16
    with pytest.raises(ValueError, match="data.batch_size=33 is the global batch size"):
        per_rank_batch_size(33, 2)
