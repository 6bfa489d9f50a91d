"""`data=translation`: the numbers corpus, subword tokenizers, Anki TSV files and hub datasets through the
DataModule to batches, the cache, checkpoints' tokenizers and the errors that name the file and line."""

import json
import logging
from pathlib import Path
from types import SimpleNamespace

import datasets
import numpy as np
import pytest
import torch

from flik_lab.data import translation as translation_module
from flik_lab.data.sentence_pairs import numbers as numbers_module
from flik_lab.data.sentence_pairs.batching import PairSplit, pair_collate
from flik_lab.data.sentence_pairs.numbers import number_pairs, number_splits
from flik_lab.data.sentence_pairs.tokenizer import (
    build_tokenizer,
    decode,
    encode,
    tokenizers_from_state,
    tokens,
)
from flik_lab.data.translation import TranslationDataModule
from flik_lab.utils.arguments import ArgumentError
from flik_lab.utils.config_schema import ConfigError, validate_config
from flik_lab.utils.instantiate import instantiate_node

from .helpers.config import compose_config
from .helpers.translation import PAIRS, hub_dataset, write_anki, write_anki_splits

NUMBERS = {"max_number": 200, "val_size": 20, "test_size": 20, "vocab_size": 60, "batch_size": 16}
TSV = {"vocab_size": 200, "batch_size": 8, "eval_batch_size": 4, "min_frequency": 1}


def make(data_dir, **settings) -> TranslationDataModule:
    data = TranslationDataModule(str(data_dir), **settings)
    data.prepare_data()
    data.setup()
    return data


def rows(split: PairSplit, side: str = "source") -> list[list[int]]:
    get = split.source_ids if side == "source" else split.target_ids
    return [get(i).tolist() for i in range(len(split))]


def split_files(files: dict[str, Path]) -> dict[str, str]:
    return {f"{name}_file": str(path) for name, path in files.items()}


def texts(split: PairSplit) -> list[tuple[str, str]]:
    return [split.texts(i) for i in range(len(split))]


@pytest.fixture(scope="module")
def numbers_data(tmp_path_factory) -> TranslationDataModule:
    return make(tmp_path_factory.mktemp("numbers"), **NUMBERS)


def test_numbers_are_written_out_in_german_and_english():
    assert number_pairs([327, 27, 4711, 1999]) == [
        ("dreihundertsiebenundzwanzig", "three hundred and twenty-seven"),
        ("siebenundzwanzig", "twenty-seven"),
        ("viertausendsiebenhundertelf", "four thousand, seven hundred and eleven"),
        ("eintausendneunhundertneunundneunzig", "one thousand, nine hundred and ninety-nine"),
    ]
    assert number_pairs([21], "en", "fr") == [("twenty-one", "vingt et un")]


def test_numbers_split_by_number_disjoint_and_seeded():
    splits = number_splits(1, 200, 20, 0.1, seed=0)
    assert [len(splits[name]) for name in ("train", "val", "test")] == [160, 20, 20]
    sources = [{s for s, _ in splits[name]} for name in ("train", "val", "test")]
    assert not sources[0] & sources[1] and not sources[0] & sources[2] and not sources[1] & sources[2]
    assert sorted(p for split in splits.values() for p in split) == sorted(number_pairs(list(range(1, 201))))
    assert number_splits(1, 200, 20, 20, seed=0) == splits
    assert number_splits(1, 200, 20, 20, seed=1)["test"] != splits["test"]
    with pytest.raises(ValueError, match=r"data.test_size=150 holds out 150 of the 200 numbers 1..200"):
        number_splits(1, 200, 20, 150, seed=0)
    with pytest.raises(ValueError, match="data.val_size=0 holds out none"):
        number_splits(1, 200, 0, 20, seed=0)


@pytest.mark.parametrize("kind", ["bpe", "unigram"])
def test_tokenizer_round_trips_with_fixed_special_ids(kind):
    train = [de for de, _ in PAIRS[:30]] + [s for s, _ in number_pairs(list(range(1, 100)))]
    tok = build_tokenizer(train, kind, vocab_size=150, min_frequency=1)
    assert [tok.token_to_id(t) for t in ("[PAD]", "[UNK]", "[BOS]", "[EOS]")] == [0, 1, 2, 3]
    assert 4 < tok.get_vocab_size() <= 150
    unseen = ["Der Schlüssel ist weg.", "achtundneunzig", "Tom ist müde!"]  # seen characters, new sentences
    assert decode(tok, encode(tok, train + unseen, None)) == train + unseen
    ids = encode(tok, ["siebenundzwanzig", ""], max_length=None)
    assert ids[1] == [1]  # nothing left of an empty sentence: one [UNK]
    assert decode(tok, [[2, *ids[0], 3, 0, 0]]) == ["siebenundzwanzig"]
    assert decode(tok, torch.tensor([[2, *ids[0], 3]])) == ["siebenundzwanzig"]
    assert "".join(tokens(tok, ids[0])).replace("▁", " ").strip() == "siebenundzwanzig"
    whole = encode(tok, ["dreihundertsiebenundzwanzig"], None)[0]
    assert len(whole) > 2 and encode(tok, ["dreihundertsiebenundzwanzig"], max_length=2)[0] == whole[:2]
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tokens(tok, [tok.get_vocab_size()])
    lower = build_tokenizer(train, kind, vocab_size=150, min_frequency=1, lowercase=True)
    assert decode(lower, encode(lower, ["Tom ist groß."], None)) == ["tom ist groß."]


def test_numbers_through_the_datamodule_to_a_batch(numbers_data):
    data = numbers_data
    assert [len(s) for s in (data.train_set, data.val_set, data.test_set)] == [160, 20, 20]
    assert data.source_vocab_size <= 60 and data.target_vocab_size <= 60 and data.dropped_train_pairs == 0
    assert (data.pad_id, data.unk_id, data.bos_id, data.eos_id) == (0, 1, 2, 3)
    batch = next(iter(data.train_dataloader()))
    assert set(batch) == {
        "source",
        "source_lengths",
        "target",
        "target_lengths",
        "source_text",
        "target_text",
    }
    source, target = batch["source"], batch["target"]
    n = len(batch["source_text"])
    assert n == 16 and source.dtype == target.dtype == torch.long and len(batch["target_text"]) == n
    assert source.shape == (n, int(batch["source_lengths"].max()))
    assert target.shape == (n, int(batch["target_lengths"].max())) and (batch["source_lengths"] >= 1).all()
    positions = torch.arange(target.shape[1])
    assert (target[:, 0] == 2).all()
    assert (target.gather(1, batch["target_lengths"][:, None] - 1) == 3).all()
    assert (target[positions >= batch["target_lengths"][:, None]] == 0).all()
    assert (target[positions < batch["target_lengths"][:, None]] != 0).all()
    spos = torch.arange(source.shape[1])
    assert (source[spos >= batch["source_lengths"][:, None]] == 0).all()
    assert not ((source == 2) | (source == 3)).any()  # no BOS/EOS on the source side
    assert data.decode_target(target) == batch["target_text"]
    real = [row[:k].tolist() for row, k in zip(source, batch["source_lengths"], strict=True)]
    assert data.encode_source(batch["source_text"]) == real
    assert set(batch["source_text"]) <= {s for s, _ in number_pairs(list(range(1, 201)))}
    assert data.val_pairs(4) == texts(data.val_set)[:4] and len(data.val_pairs(1000)) == 20
    assert data.source_tokens(real[0])[0].startswith("▁") and data.target_tokens([2, 3]) == ["[BOS]", "[EOS]"]


def test_evaluation_batches_cover_each_pair_once_also_across_ranks(numbers_data):
    data = numbers_data
    seen = [text for batch in data.val_dataloader() for text in batch["source_text"]]
    assert sorted(seen) == sorted(s for s, _ in texts(data.val_set))
    shares = []
    for rank in range(3):
        data.trainer = SimpleNamespace(world_size=3, global_rank=rank)  # what rank_batches reads
        shares += [text for batch in data.test_dataloader() for text in batch["source_text"]]
    data.trainer = None
    assert sorted(shares) == sorted(s for s, _ in texts(data.test_set))


def test_collate_pads_at_the_end_and_wraps_targets_in_bos_eos():
    items = [
        (np.array([5, 6, 7], np.int32), np.array([9], np.int32), "a b c", "x"),
        (np.array([8], np.int32), np.array([10, 11, 12], np.int32), "d", "y z w"),
    ]
    batch = pair_collate(items)
    assert batch["source"].tolist() == [[5, 6, 7], [8, 0, 0]] and batch["source_lengths"].tolist() == [3, 1]
    assert batch["target"].tolist() == [[2, 9, 3, 0, 0], [2, 10, 11, 12, 3]]
    assert batch["target_lengths"].tolist() == [3, 5]
    assert batch["source_text"] == ["a b c", "d"] and batch["target_text"] == ["x", "y z w"]


def test_tokenizers_come_from_the_train_split_only(tmp_path):
    files = write_anki_splits(tmp_path / "anki")
    data = make(tmp_path, source="tsv", **split_files(files), **TSV)
    vocab = "".join(data.source_tokenizer.get_vocab())
    assert "Ö" not in vocab and "ß" in vocab  # "Öffne die Tür." is a test sentence, "weiß" a training one
    assert data.unk_id in data.encode_source(["Öffne"])[0]
    source_state, target_state = tokenizers_from_state(data.state_dict())
    assert encode(source_state, ["Ich bin müde."], 64) == data.encode_source(["Ich bin müde."])
    assert decode(target_state, data.encode_target(["I'm cold."])) == ["I'm cold."]


def test_tsv_one_file_per_split_in_the_anki_format(tmp_path):
    files = write_anki_splits(tmp_path / "anki")
    relative = {f"{k}_file": f"anki/{p.name}" for k, p in files.items()}  # relative to data_dir
    data = make(tmp_path, source="tsv", **relative, **TSV)
    assert [len(s) for s in (data.train_set, data.val_set, data.test_set)] == [26, 5, 5]
    assert texts(data.val_set) == PAIRS[26:31] and data.val_pairs(2) == PAIRS[26:28]  # German -> English
    assert texts(data.train_set)[0] == ("Geh.", "Go.")
    assert "tatoeba" not in " ".join(t for pair in texts(data.train_set) for t in pair)  # attribution unused
    swapped = make(tmp_path, source="tsv", **relative, source_column=0, target_column=1, **TSV)
    assert texts(swapped.val_set)[0] == ("Ich liebe dich.", "I love you.")[::-1]
    batch = next(iter(data.train_dataloader()))  # val has letters train lacks ("love"): [UNK]
    assert data.decode_target(batch["target"]) == batch["target_text"]


def test_tsv_one_file_split_by_seed_keeps_a_sentence_in_one_split(tmp_path):
    write_anki(tmp_path / "deu.txt", PAIRS)
    data = make(tmp_path, source="tsv", val_size=4, test_size=5, **TSV)  # train_file: deu.txt (default)
    splits = [texts(s) for s in (data.train_set, data.val_set, data.test_set)]
    assert sorted(p for split in splits for p in split) == sorted(PAIRS)
    sources = [{s for s, _ in split} for split in splits]
    assert [len(s) for s in sources[1:]] == [4, 5]
    assert not (sources[0] & sources[1] or sources[0] & sources[2])
    tired = [i for i, split in enumerate(splits) if ("Ich bin müde.", "I am tired.") in split]
    assert ("Ich bin müde.", "I'm tired.") in splits[tired[0]]  # both translations of one sentence together
    again = make(tmp_path, source="tsv", val_size=4, test_size=5, **TSV)
    other = make(tmp_path, source="tsv", val_size=4, test_size=5, seed=1, **TSV)
    assert texts(again.val_set) == splits[1] and texts(other.val_set) != splits[1]
    with pytest.raises(
        ValueError, match=r"data.val_size=30 holds out 30 of the 35 distinct source sentences"
    ):
        make(tmp_path, source="tsv", val_size=30, **TSV)


@pytest.mark.parametrize("layout", ["translation", "columns"])
def test_hub_dataset_through_the_datamodule(tmp_path, monkeypatch, layout):
    calls = []

    def load_dataset(name, config=None, **kwargs):
        calls.append((name, config, kwargs.get("cache_dir")))
        return hub_dataset(layout)

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    name, config = ("wmt14", "de-en") if layout == "translation" else ("bentrevett/multi30k", None)
    hub = {"source": "hf", "hf_name": name, "hf_config": config, **TSV}
    data = make(tmp_path, **hub)
    assert calls == [(name, config, str(tmp_path / "hf"))]
    assert texts(data.val_set) == PAIRS[26:31] and texts(data.test_set) == PAIRS[31:]
    batch = next(iter(data.train_dataloader()))
    assert data.decode_target(batch["target"]) == batch["target_text"]
    held = make(tmp_path, **hub, hf_test_split=None, test_size=3)
    assert len(held.train_set) + len(held.test_set) == 26 and len({s for s, _ in texts(held.test_set)}) == 3
    reversed_ = make(tmp_path, **hub, source_lang="en", target_lang="de")
    assert texts(reversed_.val_set)[0] == PAIRS[26][::-1]


def test_hub_errors_name_the_dataset_and_what_was_found(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: hub_dataset("columns"))
    with pytest.raises(ValueError) as err:
        make(tmp_path, source="hf", hf_name="bentrevett/multi30k", source_lang="fr", **TSV)
    message = str(err.value)
    assert "bentrevett/multi30k split 'train'" in message and "found columns ['en', 'de']" in message
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: hub_dataset("translation"))
    with pytest.raises(
        ValueError, match=r"wmt14 \(de-en\) split 'train'.*languages \['de', 'en'\], not \['de', 'fr'\]"
    ):
        make(tmp_path, source="hf", hf_name="wmt14", hf_config="de-en", target_lang="fr", **TSV)
    with pytest.raises(
        ValueError, match=r"has no split 'dev' \(data.hf_val_split\); found splits \['train', 'valid"
    ):
        make(tmp_path, source="hf", hf_name="wmt14", hf_val_split="dev", **TSV)

    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'bentrevett/multi30k' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(RuntimeError) as err:
        make(tmp_path, source="hf", **TSV)
    message = str(err.value)
    assert "could not load bentrevett/multi30k" in message and "ConnectionError" in message
    assert "data.source=tsv" in message and str(tmp_path / "deu.txt") in message
    assert not list(tmp_path.rglob("meta.json"))


BAD_LINES = {
    "no-tab": (b"Go.\tGeh.\tCC-BY\nHello! Hallo!\n", 2, "1 tab-separated column(s), need at least 2"),
    "empty-source": (b"Go.\tGeh.\tCC-BY\nRun!\t \tCC-BY\n", 2, "empty source sentence (column 1)"),
    "empty-target": (b"\tGeh.\tCC-BY\n", 1, "empty target sentence (column 0)"),
    "not-utf8": (b"Go.\tGeh.\n\nCoffee.\tCaf\xe9.\n", 3, "not UTF-8 (byte 0xe9 at column 12)"),
}


@pytest.mark.parametrize("defect", sorted(BAD_LINES))
def test_bad_lines_name_the_file_and_line(tmp_path, defect):
    content, line, reason = BAD_LINES[defect]
    files = write_anki_splits(tmp_path)
    files["val"].write_bytes(content)
    data = TranslationDataModule(str(tmp_path), source="tsv", **split_files(files))
    with pytest.raises(ValueError) as err:
        data.prepare_data()
    assert f"{files['val']}, line {line}: {reason}" in str(err.value)
    assert not list(tmp_path.rglob("meta.json"))


def test_missing_and_empty_files_are_named(tmp_path):
    files = write_anki_splits(tmp_path)
    files["test"].unlink()
    settings = split_files(files)
    with pytest.raises(
        FileNotFoundError, match=f"missing parallel text file {files['test']}; expected target<TAB>"
    ):
        make(tmp_path, source="tsv", **settings)
    files["test"].write_text("\n\n", encoding="utf-8")
    with pytest.raises(ValueError, match=f"{files['test']} holds no sentence pairs"):
        make(tmp_path, source="tsv", **settings)
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "deu.txt")):
        make(tmp_path, source="tsv")


def test_over_long_training_pairs_are_dropped_and_counted(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        data = make(tmp_path, **{**NUMBERS, "vocab_size": 40, "max_length": 4})
    full = make(tmp_path, **{**NUMBERS, "vocab_size": 40, "max_length": 64})
    dropped = data.dropped_train_pairs
    long = [
        max(len(s), len(t)) > 4
        for s, t in zip(rows(full.train_set), rows(full.train_set, "target"), strict=True)
    ]
    assert dropped == sum(long) > 0 and len(data.train_set) == 160 - dropped
    assert f"dropped {dropped} of 160 training pairs with a side longer than data.max_length=4" in caplog.text
    meta = json.loads((data.cache_folder / "meta.json").read_text())
    assert meta["dropped_train_pairs"] == dropped and meta["truncated_pairs"]["val"] > 0
    assert data.train_set.lengths.max() <= 4 and len(data.val_set) == len(full.val_set) == 20
    assert texts(data.val_set) == texts(full.val_set)  # texts kept whole, ids cut
    assert rows(data.val_set) == [row[:4] for row in rows(full.val_set)]
    assert rows(data.val_set, "target") == [row[:4] for row in rows(full.val_set, "target")]
    with pytest.raises(ValueError, match="data.max_length=1 drops all 160 training pairs"):
        make(tmp_path, **{**NUMBERS, "vocab_size": 40, "max_length": 1})


def test_second_setup_reads_the_cache(tmp_path, monkeypatch):
    first = make(tmp_path, **NUMBERS)
    files = sorted(p.name for p in first.cache_folder.iterdir())
    assert files == [
        "meta.json",
        "source_tokenizer.json",
        "target_tokenizer.json",
        "test.npz",
        "train.npz",
        "val.npz",
    ]
    assert first.cache_folder.parent == tmp_path / "cache"
    assert first.cache_folder.name.startswith("translation-")

    def must_not_run(*args, **kwargs):
        raise AssertionError("re-generated or re-tokenized although the cache is there")

    monkeypatch.setattr(translation_module, "build_tokenizer", must_not_run)
    monkeypatch.setattr(numbers_module, "number_splits", must_not_run)
    again = make(tmp_path, **NUMBERS)
    assert again.cache_folder == first.cache_folder and texts(again.val_set) == texts(first.val_set)
    assert np.array_equal(again.train_set.arrays["source_ids"], first.train_set.arrays["source_ids"])
    assert again.state_dict() == first.state_dict()
    with pytest.raises(AssertionError, match="re-tokenized"):
        make(tmp_path, **{**NUMBERS, "tokenizer": "unigram"})  # another setting: tokenize again
    before = first.cache_key()
    monkeypatch.setattr(numbers_module, "num2words_version", lambda: "99.0")
    assert first.cache_key() != before


def test_tsv_cache_key_follows_the_files(tmp_path):
    path = write_anki(tmp_path / "deu.txt", PAIRS)
    data = TranslationDataModule(str(tmp_path), source="tsv", val_size=4, test_size=4, **TSV)
    before = data.cache_key()
    write_anki(path, PAIRS[:-1])
    assert data.cache_key() != before


def test_shared_vocabulary_is_one_tokenizer(tmp_path):
    files = write_anki_splits(tmp_path)
    data = make(tmp_path, source="tsv", shared_vocab=True, **split_files(files), **TSV)
    state = data.state_dict()
    assert state["source_tokenizer"] == state["target_tokenizer"]
    assert data.encode_source(["Go."]) == data.encode_target(["Go."]) != [[data.unk_id]]


def test_state_dict_round_trip_and_a_different_tokenizer_refused(tmp_path, numbers_data):
    state = numbers_data.state_dict()
    assert set(state) == {"source_tokenizer", "target_tokenizer"}
    assert all(isinstance(value, str) for value in state.values())
    same = make(tmp_path, **NUMBERS)
    same.load_state_dict(state)
    other = make(tmp_path, **{**NUMBERS, "vocab_size": 50})
    with pytest.raises(ValueError, match="the checkpoint's source tokenizer differs"):
        other.load_state_dict(state)
    pending = TranslationDataModule(str(tmp_path), **{**NUMBERS, "vocab_size": 50})
    pending.load_state_dict(state)  # before setup, as when a checkpoint is read first: checked by setup
    with pytest.raises(ValueError, match="tokenizer differs"):
        pending.setup()
    assert pending.train_set is None  # refused before any batch could be drawn
    assert TranslationDataModule(str(tmp_path)).state_dict() == {}
    with pytest.raises(ValueError, match="has no \\['target_tokenizer'\\]"):
        tokenizers_from_state({"source_tokenizer": state["source_tokenizer"]})
    with pytest.raises(RuntimeError, match=r"setup\(\) must run"):
        TranslationDataModule(str(tmp_path)).encode_source(["eins"])


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"source": "csv"}, "source"),
        ({"tokenizer": "wordpiece"}, "tokenizer"),
        ({"vocab_size": 4}, "vocab_size"),
        ({"batch_size": 0}, "batch_size"),
        ({"max_length": True}, "max_length"),
        ({"num_workers": -1}, "num_workers"),
        ({"max_number": 0}, "max_number"),
        ({"target_column": 1}, "target_column"),
        ({"target_lang": "de"}, "target_lang"),
        ({"source_lang": "xx"}, "source_lang"),
        ({"source": "tsv", "train_file": None}, "train_file"),
        ({"source": "hf", "hf_name": ""}, "hf_name"),
    ],
)
def test_arguments_are_validated_by_name(tmp_path, settings, key):
    with pytest.raises(ArgumentError) as err:
        TranslationDataModule(str(tmp_path), **settings)
    assert err.value.argument == key and str(err.value).startswith(f"{key}=")


def test_the_yaml_mirrors_the_constructor_and_names_bad_keys(tmp_path):
    cfg = compose_config(
        "train", tmp_path, ["model=seq2seq_rnn", "data=translation", f"paths.data_dir={tmp_path}"]
    )
    validate_config(cfg)
    assert cfg.data.source == "numbers" and cfg.data._target_.endswith("TranslationDataModule")
    data = instantiate_node(cfg.data, "data", max_number=200, val_size=20, test_size=20, vocab_size=60)
    assert isinstance(data, TranslationDataModule) and data.data_dir == Path(tmp_path).resolve()
    data.setup()
    assert len(data.train_set) == 160
    bad = compose_config("train", tmp_path, ["data=translation", "data.batch_size=0"])
    with pytest.raises(ConfigError, match="invalid config value 'data.batch_size'"):
        instantiate_node(bad.data, "data")
    with pytest.raises(ConfigError, match="data.shared_vocabs"):
        validate_config(
            compose_config(
                "train", tmp_path, ["model=seq2seq_rnn", "data=translation", "+data.shared_vocabs=true"]
            )
        )
