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


def _datamodules(tmp_path):
    from flik_lab.data.celeba import CelebADataModule
    from flik_lab.data.imdb import IMDBDataModule
    from flik_lab.data.mnist5k import MNIST5kDataModule
    from flik_lab.data.reviews.synthetic import generate_reviews, write_parquet

    from .helpers.images import write_celeba_tree

    write_celeba_tree(tmp_path, per_split=9)
    write_parquet(tmp_path, generate_reviews(90, seed=0, median_words=8), generate_reviews(21, seed=1))
    return {
        "mnist5k": lambda: MNIST5kDataModule(batch_size=64, eval_batch_size=100),
        "celeba": lambda: CelebADataModule(
            str(tmp_path), batch_size=4, eval_batch_size=4, num_workers=0, verify_md5=False
        ),
        "imdb": lambda: IMDBDataModule(
            str(tmp_path), source="parquet", batch_size=8, eval_batch_size=8, val_size=21, vocab_size=100
        ),
    }


@pytest.mark.parametrize("name", ["mnist5k", "celeba", "imdb"])
def test_every_datamodule_shards_its_loaders_the_same_way(name, tmp_path):
    """Two ranks: the global batch halved, disjoint training shards, each evaluation example once."""
    from types import SimpleNamespace

    make = _datamodules(tmp_path)[name]
    loaders = {}
    for rank in range(2):
        data = make()
        strategy = SimpleNamespace(root_device=torch.device("cpu"))
        data.trainer = SimpleNamespace(world_size=2, global_rank=rank, training=False, strategy=strategy)
        data.prepare_data()
        data.setup("fit")
        loaders[rank] = {"train": data.train_dataloader(), "val": data.val_dataloader()}
    batches = {
        (rank, split): [list(b) for b in (loader.batch_sampler or loader.sampler)]
        for rank, splits in loaders.items()
        for split, loader in splits.items()
    }
    global_batch = make().batch_size
    train = [batches[rank, "train"] for rank in range(2)]
    assert len(train[0]) == len(train[1]) > 0  # DDP needs the same number of steps on every rank
    assert max(len(b) for shard in train for b in shard) == global_batch // 2  # IMDB keeps one short batch
    seen = [i for shard in train for b in shard for i in b]
    assert len(seen) == len(set(seen))
    val = sorted(i for rank in range(2) for b in batches[rank, "val"] for i in b)
    assert val == list(range(len(loaders[0]["val"].dataset)))  # every example once, none padded in
