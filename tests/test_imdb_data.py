"""`data=imdb` on tiny trees in the three real layouts: reading, tokenizing, caching, batching, errors."""

import logging
import time

import datasets
import numpy as np
import pytest
import torch
from lightning.fabric.utilities.data import _set_sampler_epoch

from flik_lab.data import imdb as imdb_module
from flik_lab.data.image_tensors import seeded_split
from flik_lab.data.imdb import IMDBDataModule
from flik_lab.data.length_buckets import BucketBatchSampler, padding_efficiency
from flik_lab.data.reviews.batching import TokenizedSplit, pad_collate
from flik_lab.data.reviews.sources import load_aclimdb, parquet_files
from flik_lab.data.reviews.synthetic import generate_reviews, write_aclimdb, write_parquet

from .helpers.text import tiny_reviews, write_broken_tree, write_tiny

SMALL = {"batch_size": 16, "eval_batch_size": 32, "vocab_size": 2000, "max_length": 400, "val_size": 40}


def make(data_dir, source="parquet", **overrides) -> IMDBDataModule:
    data = IMDBDataModule(str(data_dir), source=source, **{**SMALL, **overrides})
    data.prepare_data()
    data.setup()
    return data


def rows(split: TokenizedSplit) -> list[tuple[int, ...]]:
    return [tuple(split[i][0].tolist()) for i in range(len(split))]


@pytest.fixture(scope="module")
def parquet_data(tmp_path_factory) -> IMDBDataModule:
    data_dir = tmp_path_factory.mktemp("imdb_parquet")
    write_tiny(data_dir, "parquet", *tiny_reviews())
    return make(data_dir)


def test_generate_reviews_is_seeded_balanced_and_imdb_long():
    start = time.perf_counter()
    reviews = generate_reviews(5000, seed=3)
    elapsed = time.perf_counter() - start
    words = np.array([len(text.split()) for text, _ in reviews])
    labels = np.array([label for _, label in reviews])
    assert reviews == generate_reviews(5000, seed=3) and reviews != generate_reviews(5000, seed=4)
    assert labels.sum() == 2500 and 140 <= np.median(words) <= 220 and words.max() > 1000
    assert sum("<br /><br />" in text for text, _ in reviews) > 1000
    assert elapsed < 5  # 50,000 take about 1.5 s on an idle core
    positive = (
        "masterpiece",
        "joy",
        "best",
        "brilliant",
        "wonderful",
        "outstanding",
        "beautifully",
        "worth",
        "must",
        "superb",
    )
    assert all(any(w in text for w in positive) == bool(label) for text, label in reviews[:500])


def test_parquet_layout_loads_through_datasets(parquet_data):
    data = parquet_data
    assert [len(s) for s in (data.train_set, data.val_set, data.test_set)] == [160, 40, 100]  # no unsup
    assert 2 < data.vocab_size_actual <= 2000 and data.pad_id == 0 and data.unk_id == 1
    batch = next(iter(data.train_dataloader()))
    assert set(batch) == {"tokens", "lengths", "labels"} and batch["tokens"].dtype == torch.long
    assert batch["tokens"].shape[0] == 16 and set(batch["labels"].tolist()) <= {0, 1}
    # the hub's train file is sorted by label: the held-out validation set must mix both
    assert 0.2 < data.val_set.labels.mean() < 0.8 and 0.2 < data.train_set.labels[:40].mean() < 0.8


def test_aclimdb_layout_gives_the_same_splits_as_parquet(tmp_path, parquet_data):
    write_tiny(tmp_path, "aclimdb", *tiny_reviews())
    data = make(tmp_path, "aclimdb")
    assert data.tokenizer.get_vocab() == parquet_data.tokenizer.get_vocab()
    for mine, theirs in zip(
        (data.train_set, data.val_set, data.test_set),
        (parquet_data.train_set, parquet_data.val_set, parquet_data.test_set),
        strict=True,
    ):
        assert np.array_equal(mine.ids, theirs.ids) and np.array_equal(mine.labels, theirs.labels)


def test_hf_source_converts_the_hub_dataset(tmp_path, monkeypatch, parquet_data):
    write_tiny(tmp_path / "hub", "parquet", *tiny_reviews())
    real_load = datasets.load_dataset
    calls = []

    def hub_from_local_files(name, **kwargs):
        calls.append((name, kwargs.get("cache_dir")))
        files = parquet_files(tmp_path / "hub")
        return real_load("parquet", data_files={s: str(p) for s, p in files.items()}, **kwargs)

    monkeypatch.setattr(datasets, "load_dataset", hub_from_local_files)
    data = make(tmp_path, "hf")
    assert calls == [("stanfordnlp/imdb", str(tmp_path / "hf"))]
    assert np.array_equal(data.val_set.ids, parquet_data.val_set.ids)
    assert np.array_equal(data.test_set.labels, parquet_data.test_set.labels)


def test_hf_without_network_names_the_offline_sources(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'stanfordnlp/imdb' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(RuntimeError) as err:
        make(tmp_path, "hf")
    message = str(err.value)
    assert "could not download stanfordnlp/imdb" in message and "ConnectionError" in message
    assert "data.source=parquet" in message and "data.source=aclimdb" in message
    assert str(tmp_path / "imdb" / "plain_text" / "train-00000-of-00001.parquet") in message
    assert str(tmp_path / "aclImdb") in message


def test_br_tags_are_removed_and_text_lowercased(parquet_data):
    data = parquet_data
    assert not {"br", "<", "/>", "<br"} & set(data.tokenizer.get_vocab())
    ids = data.encode(["An ABSOLUTE masterpiece,<br /><br />Superb<BR/>in<br>every way."])[0]
    words = ["an", "absolute", "masterpiece", ",", "superb", "in", "every", "way", "."]
    assert data.decode_tokens(ids) == words
    assert data.decode_tokens(torch.tensor(ids)) == words
    with pytest.raises(ValueError, match="outside the vocabulary"):
        data.decode_tokens([data.vocab_size_actual])


def test_vocabulary_comes_from_the_training_reviews_only(tmp_path):
    train, test = tiny_reviews()
    train_idx, val_idx = seeded_split(len(train), [len(train) - 40, 40], seed=0)  # the module's split
    train = list(train)
    for i in val_idx.tolist():
        train[i] = (train[i][0] + " valonlyword valonlyword", train[i][1])
    for i in train_idx[:5].tolist():
        train[i] = (train[i][0] + " trainword", train[i][1])
    test = [(text + " testonlyword", label) for text, label in test]
    write_parquet(tmp_path, train, test)
    data = make(tmp_path)
    vocab = data.tokenizer.get_vocab()
    assert "trainword" in vocab and "valonlyword" not in vocab and "testonlyword" not in vocab
    assert data.encode(["testonlyword valonlyword"]) == [[data.unk_id, data.unk_id]]
    assert all(ids[-1] == data.unk_id for ids, _ in data.test_set)
    assert all("valonlyword" in text for text in data.val_texts(40))
    assert data.encode(data.val_texts(3)) == [data.val_set[i][0].tolist() for i in range(3)]


def test_min_frequency_and_vocab_size_limit_the_vocabulary(parquet_data, tmp_path):
    write_tiny(tmp_path, "parquet", *tiny_reviews())
    rare = make(tmp_path, min_frequency=1)
    capped = make(tmp_path, vocab_size=20)
    assert rare.vocab_size_actual > parquet_data.vocab_size_actual
    assert capped.vocab_size_actual == 20


def test_reviews_are_truncated_to_max_length(tmp_path, parquet_data):
    write_tiny(tmp_path, "parquet", *tiny_reviews())
    data = make(tmp_path, max_length=20)
    assert data.train_set.lengths.max() == 20 and (data.train_set.lengths == 20).mean() > 0.9
    full = parquet_data.train_set
    assert np.array_equal(data.train_set[0][0], full[0][0][:20])


def test_val_is_held_out_of_train_disjoint_and_seeded(tmp_path, parquet_data):
    train, _ = tiny_reviews()
    a = parquet_data
    held = sorted(rows(a.train_set) + rows(a.val_set))
    assert held == sorted(map(tuple, a.encode([text for text, _ in train])))
    assert not set(rows(a.val_set)) & set(rows(a.train_set))
    assert not set(rows(a.val_set)) & set(rows(a.test_set))
    write_tiny(tmp_path, "parquet", *tiny_reviews())
    b = make(tmp_path)
    c = make(tmp_path, seed=1)
    assert rows(b.val_set) == rows(a.val_set) and rows(c.val_set) != rows(a.val_set)


def test_second_setup_reads_the_cache(tmp_path, monkeypatch):
    write_tiny(tmp_path, "parquet", *tiny_reviews())
    first = make(tmp_path)
    files = sorted(p.name for p in first.cache_folder.iterdir())
    assert files == ["meta.json", "test.npz", "tokenizer.json", "train.npz", "val.npz", "val_texts.json"]
    assert first.cache_folder.parent == tmp_path / "cache" and first.cache_folder.name.startswith("imdb-")

    def must_not_run(*args, **kwargs):
        raise AssertionError("re-read or re-tokenized although the cache is there")

    monkeypatch.setattr(imdb_module, "build_tokenizer", must_not_run)
    monkeypatch.setattr(imdb_module, "load_reviews", must_not_run)
    again = make(tmp_path)
    assert again.cache_folder == first.cache_folder
    assert np.array_equal(again.train_set.ids, first.train_set.ids)
    assert again.val_texts(2) == first.val_texts(2)
    with pytest.raises(AssertionError, match="re-tokenized"):
        make(tmp_path, max_length=50)  # another key: must tokenize again
    monkeypatch.undo()
    assert make(tmp_path, max_length=50).cache_folder != first.cache_folder
    before = first.cache_key()
    write_parquet(tmp_path, *tiny_reviews(seed=5))  # new input files: new key
    assert first.cache_key() != before


def test_batches_are_padded_at_the_end_to_the_longest(parquet_data):
    data = parquet_data
    loader = data.val_dataloader()
    seen = []
    for batch in loader:
        tokens, lengths = batch["tokens"], batch["lengths"]
        assert tokens.shape == (len(lengths), int(lengths.max()))
        positions = torch.arange(tokens.shape[1])
        assert (tokens[positions >= lengths[:, None]] == data.pad_id).all()
        assert (tokens[positions < lengths[:, None]] != data.pad_id).all()
        seen += [tuple(row[:n].tolist()) for row, n in zip(tokens, lengths, strict=True)]
    assert sorted(seen) == sorted(rows(data.val_set))
    items = [(np.array([5, 6, 7], np.int32), 1), (np.array([8], np.int32), 0)]
    batch = pad_collate(items)
    assert batch["tokens"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["lengths"].tolist() == [3, 1] and batch["labels"].tolist() == [1, 0]


@pytest.mark.parametrize("bucketing", [True, False])
def test_sampler_yields_every_index_once_per_epoch(bucketing):
    lengths = np.random.default_rng(0).integers(1, 400, 1003)
    sampler = BucketBatchSampler(lengths, batch_size=10, bucketing=bucketing, bucket_factor=5, seed=0)
    epochs = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(batches) == len(sampler) == 101 and sorted(map(len, batches))[0] == 3
        assert sorted(i for b in batches for i in b) == list(range(1003))
        epochs.append(batches)
    assert epochs[0] != epochs[1] != epochs[2]
    sampler.set_epoch(1)
    assert list(sampler) == epochs[1]
    ordered = BucketBatchSampler(lengths, 10, shuffle=False, bucketing=bucketing, bucket_factor=5)
    assert sorted(i for b in ordered for i in b) == list(range(1003))


def test_lightning_sets_the_sampler_epoch(parquet_data):
    loader = parquet_data.train_dataloader()
    first = list(loader.batch_sampler)
    _set_sampler_epoch(loader, 1)  # what Lightning's fit loop calls before each epoch
    assert loader.batch_sampler.sampler.epoch == 1 and list(loader.batch_sampler) != first


def test_bucketing_raises_padding_efficiency_on_imdb_lengths():
    lengths = np.array([min(len(text.split()), 400) for text, _ in generate_reviews(4000, seed=0)])
    bucketed = padding_efficiency(lengths, BucketBatchSampler(lengths, 64, bucketing=True))
    plain = padding_efficiency(lengths, BucketBatchSampler(lengths, 64, bucketing=False))
    assert bucketed > 0.9 and plain < 0.7 and bucketed > plain + 0.2


def test_non_utf8_files_and_empty_reviews_are_survived(tmp_path, caplog):
    train, test = tiny_reviews()
    root = write_aclimdb(tmp_path, train, test)
    (root / "train" / "pos" / "1000_9.txt").write_bytes("Caf\xe9 scenes, a joy to watch.".encode("latin-1"))
    (root / "train" / "neg" / "1001_2.txt").write_text("  <br /><br />\n ", encoding="utf-8")
    (root / "test" / "neg" / "1002_1.txt").write_text("", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        data = make(tmp_path, "aclimdb")
    assert "1 IMDB files" in caplog.text and "not UTF-8" in caplog.text
    assert "skipped 1 empty IMDB train reviews" in caplog.text
    assert "skipped 1 empty IMDB test reviews" in caplog.text
    assert len(data.train_set) + len(data.val_set) == 201 and len(data.test_set) == 100
    assert ("Caf\ufffd scenes, a joy to watch.", 1) in load_aclimdb(tmp_path)["train"]


@pytest.mark.parametrize(
    "defect",
    [
        "aclimdb-missing-folder",
        "aclimdb-empty-folder",
        "aclimdb-bad-rating",
        "parquet-missing-file",
        "parquet-wrong-columns",
        "parquet-bad-labels",
        "parquet-not-parquet",
        "parquet-all-empty-test",
    ],
)
def test_malformed_input_names_the_path(tmp_path, defect):
    source, path = write_broken_tree(tmp_path, defect)
    data = IMDBDataModule(str(tmp_path), source=source, **{**SMALL, "val_size": 5})
    with pytest.raises((FileNotFoundError, ValueError)) as err:
        data.prepare_data()
    assert str(path) in str(err.value)
    expected = {
        "aclimdb-missing-folder": "missing IMDB folder",
        "aclimdb-empty-folder": "no .txt reviews",
        "aclimdb-bad-rating": "<id>_<rating>.txt with integers",
        "parquet-missing-file": "missing IMDB parquet file",
        "parquet-wrong-columns": "expected columns 'text' (str) and 'label' (int)",
        "parquet-bad-labels": "labels must be 0 (neg) or 1 (pos), found ['2']",
        "parquet-not-parquet": "not a readable parquet file",
        "parquet-all-empty-test": "the IMDB test split",
    }[defect]
    assert expected in str(err.value)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("meta.json"))


def test_arguments_are_validated(tmp_path):
    with pytest.raises(ValueError, match="source=.kaggle.: expected one of hf, parquet, aclimdb"):
        IMDBDataModule(str(tmp_path), source="kaggle")
    with pytest.raises(ValueError, match="batch_size=0: expected an integer of 1 or more"):
        IMDBDataModule(str(tmp_path), batch_size=0)
    with pytest.raises(ValueError, match="vocab_size=2: expected an integer of 3 or more"):
        IMDBDataModule(str(tmp_path), vocab_size=2)
    write_tiny(tmp_path, "parquet", *tiny_reviews())
    with pytest.raises(ValueError, match=r"val_size=200 holds out 200 of the 200 parquet training reviews"):
        make(tmp_path, val_size=200)
    with pytest.raises(RuntimeError, match=r"setup\(\) must run"):
        IMDBDataModule(str(tmp_path), source="parquet").encode(["text"])
