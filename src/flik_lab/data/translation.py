"""`data=translation`: sentence pairs (numbers in words, Anki TSV files, hub data) as subword ids, cached."""

import hashlib
import json
import logging
from pathlib import Path
from typing import Annotated

import lightning as L
import numpy as np
import tokenizers
from tokenizers import Tokenizer
from torch.utils.data import DataLoader

from flik_lab.data.atomic_files import write_atomic
from flik_lab.data.epoch_batches import batch_loader
from flik_lab.data.parallel import numbers
from flik_lab.data.parallel.batching import PairSplit, pair_collate
from flik_lab.data.parallel.sources import (
    SPLIT_NAMES,
    Pair,
    Source,
    hold_out,
    input_files,
    load_hf,
    load_tsv,
)
from flik_lab.data.parallel.tokenizer import (
    BOS_ID,
    EOS_ID,
    PAD_ID,
    UNK_ID,
    TokenizerKind,
    build_tokenizer,
    decode,
    encode,
    tokenizers_from_state,
    tokens,
)  # fmt: skip
from flik_lab.data.sharding import per_rank_batch_size, rank_batches, world_and_rank
from flik_lab.data.text.batching import BucketBatchSampler
from flik_lab.utils.arguments import ArgumentError, Count, at_least, check_declared
from flik_lab.utils.errors import InputError
from flik_lab.utils.progress_log import logged_phase

log = logging.getLogger(__name__)

CACHE_VERSION = 1  # bump when the tokenizers or the cache files change
META = "meta.json"  # written last: its presence marks a complete cache folder
Index = Annotated[int, at_least(0)]  # a column, a number, a worker count


class TranslationDataModule(L.LightningDataModule):
    """Batches of `source (N, S)`, `target (N, T)` = `[BOS] y [EOS]` (both padded with `[PAD]`=0 at the end),
    their lengths and raw texts. Subword tokenizers are trained on the train split only.

    Sources: `numbers` (offline: numbers in words, split by number), `tsv` (Anki files, one per split or one
    held out by seed), `hf` (a hub dataset). Training pairs with a side over `max_length` tokens are dropped
    and counted; validation and test pairs are kept, their ids cut to `max_length` (texts kept whole).
    """

    data_kinds = ("sentence_pairs",)  # the `data_kind`s of the models it can feed

    def __init__(
        self,
        data_dir: str,
        source: Source = "numbers",
        source_lang: str = "de",
        target_lang: str = "en",
        min_number: Index = 1,
        max_number: int = 9999,
        train_file: str | None = "deu.txt",
        val_file: str | None = None,
        test_file: str | None = None,
        source_column: Index = 1,
        target_column: Index = 0,
        hf_name: str = "bentrevett/multi30k",
        hf_config: str | None = None,
        hf_train_split: str = "train",
        hf_val_split: str | None = "validation",
        hf_test_split: str | None = "test",
        tokenizer: TokenizerKind = "bpe",
        vocab_size: Annotated[int, at_least(5)] = 100,  # the 4 special tokens and at least one more
        shared_vocab: bool = False,
        min_frequency: Count = 2,
        lowercase: bool = False,
        max_length: Count = 64,
        val_size: float = 500,
        test_size: float = 1000,
        batch_size: Count = 64,
        eval_batch_size: Count = 256,
        bucketing: bool = True,
        bucket_factor: Count = 50,
        num_workers: Index = 0,
        seed: int = 0,
    ):
        check_declared(TranslationDataModule.__init__, locals())
        super().__init__()
        at_least(min_number).check("max_number", max_number)
        if target_column == source_column:
            raise ArgumentError(
                "target_column", target_column, f"a column other than source_column={source_column}"
            )
        if target_lang == source_lang:
            raise ArgumentError(
                "target_lang", target_lang, f"a language other than source_lang={source_lang!r}"
            )
        if source == "numbers":
            for name, lang in (("source_lang", source_lang), ("target_lang", target_lang)):
                if not numbers.supported(lang):
                    raise ArgumentError(
                        name, lang, "a language num2words can spell numbers in (de, en, fr, ...)"
                    )
        if source == "tsv" and not train_file:
            raise ArgumentError("train_file", train_file, "the path of a TSV file (target<TAB>source)")
        if source == "hf":
            for name, value in (("hf_name", hf_name), ("hf_train_split", hf_train_split)):
                if not value:
                    raise ArgumentError(name, value, "a hub dataset name and its training split")
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.source, self.source_lang, self.target_lang = source, source_lang, target_lang
        self.min_number, self.max_number = min_number, max_number
        self.files = {"train": train_file, "val": val_file, "test": test_file}
        self.source_column, self.target_column = source_column, target_column
        self.hf_name, self.hf_config = hf_name, hf_config
        self.hf_splits = {"train": hf_train_split, "val": hf_val_split, "test": hf_test_split}
        self.tokenizer_kind, self.vocab_size, self.shared_vocab = tokenizer, vocab_size, bool(shared_vocab)
        self.min_frequency, self.lowercase, self.max_length = min_frequency, bool(lowercase), max_length
        self.val_size, self.test_size, self.seed = val_size, test_size, seed
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.bucketing, self.bucket_factor, self.num_workers = bool(bucketing), bucket_factor, num_workers
        self.source_tokenizer: Tokenizer | None = None
        self.target_tokenizer: Tokenizer | None = None
        self.train_set: PairSplit | None = None
        self.val_set: PairSplit | None = None
        self.test_set: PairSplit | None = None
        self.cache_folder: Path | None = None
        self.dropped_train_pairs = 0  # training pairs with a side longer than max_length tokens
        self._expected_state: dict | None = None  # a checkpoint's tokenizers, checked once they exist

    # --- the cache -------------------------------------------------------------------------------------
    def _source_settings(self) -> dict:
        if self.source == "numbers":
            return {"min_number": self.min_number, "max_number": self.max_number,
                    "num2words": numbers.num2words_version()}  # fmt: skip
        files = []
        for path in input_files(self.source, self.data_dir, self.files, self.hf_name):
            stat = path.stat()
            files.append([str(path), stat.st_size, stat.st_mtime_ns])
        if self.source == "tsv":
            return {"files": files, "split_files": self.files,
                    "columns": [self.source_column, self.target_column]}  # fmt: skip
        return {"files": files, "name": self.hf_name, "config": self.hf_config, "splits": self.hf_splits}

    def cache_key(self) -> str:
        """Hash of the inputs (files: names, sizes, mtimes; numbers: range and num2words' version) and every
        setting that changes the cached arrays."""
        settings = {
            "version": CACHE_VERSION,
            "tokenizers": tokenizers.__version__,
            "source": self.source,
            "data_dir": str(self.data_dir),
            "langs": [self.source_lang, self.target_lang],
            "input": self._source_settings(),
            "tokenizer": self.tokenizer_kind,
            "vocab_size": self.vocab_size,
            "shared_vocab": self.shared_vocab,
            "min_frequency": self.min_frequency,
            "lowercase": self.lowercase,
            "max_length": self.max_length,
            "val_size": self.val_size,
            "test_size": self.test_size,
            "seed": self.seed,
        }
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]

    def cache_dir(self) -> Path:
        return self.data_dir / "cache" / f"translation-{self.cache_key()}"

    def prepare_data(self) -> None:
        if not (self.cache_dir() / META).is_file():
            self._build()

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        folder = self.cache_dir()
        if not (folder / META).is_file():  # prepare_data was skipped or ran on another node
            folder = self._build()
        self._load(folder)

    def _read_splits(self) -> dict[str, list[Pair]]:
        if self.source == "numbers":
            return numbers.number_splits(self.min_number, self.max_number, self.val_size, self.test_size,
                                         self.seed, self.source_lang, self.target_lang)  # fmt: skip
        if self.source == "tsv":
            splits = load_tsv(self.data_dir, self.files, self.source_column, self.target_column)
            where = str(self.data_dir / self.files["train"])
        else:
            splits = load_hf(self.data_dir, self.hf_name, self.hf_config, self.hf_splits,
                             self.source_lang, self.target_lang)  # fmt: skip
            where = f"{self.hf_name} {self.hf_splits['train']!r}"
        sizes = {"val": self.val_size, "test": self.test_size}
        return hold_out(splits, sizes, self.seed, where)

    def _train_tokenizers(self, train: list[Pair]) -> tuple[Tokenizer, Tokenizer]:
        settings = (self.tokenizer_kind, self.vocab_size, self.min_frequency, self.lowercase)
        sources, targets = [s for s, _ in train], [t for _, t in train]
        if self.shared_vocab:
            shared = build_tokenizer(sources + targets, *settings)
            return shared, shared
        return build_tokenizer(sources, *settings), build_tokenizer(targets, *settings)

    def _build(self) -> Path:
        with logged_phase(f"reading the {self.source_lang} -> {self.target_lang} pairs ({self.source})", log):
            splits = self._read_splits()
        with logged_phase(f"building the vocabularies of {len(splits['train'])} training pairs", log):
            source_tok, target_tok = self._train_tokenizers(splits["train"])
        arrays, cut = {}, {}
        for name in SPLIT_NAMES:
            pairs = splits[name]
            with logged_phase(f"tokenizing {len(pairs)} {name} pairs", log):
                source = encode(source_tok, [s for s, _ in pairs], None)
                target = encode(target_tok, [t for _, t in pairs], None)
            long = [max(len(s), len(t)) > self.max_length for s, t in zip(source, target, strict=True)]
            cut[name] = sum(long)
            if name == "train":  # an over-long pair would be learned cut off mid-sentence: leave it out
                keep = [i for i, over in enumerate(long) if not over]
                pairs, source, target = ([rows[i] for i in keep] for rows in (pairs, source, target))
                if not pairs:
                    raise InputError(
                        f"data.max_length={self.max_length} drops all {len(long)} training pairs: "
                        "each has a side longer than that many tokens"
                    )
            else:  # every reference pair is scored: ids cut, the texts that BLEU compares against kept whole
                source = [row[: self.max_length] for row in source]
                target = [row[: self.max_length] for row in target]
            arrays[name] = PairSplit.from_rows(source, target, pairs)
        if cut["train"]:
            log.warning(
                "dropped %d of %d training pairs with a side longer than data.max_length=%d tokens",
                cut["train"], len(splits["train"]), self.max_length,
            )  # fmt: skip
        folder = self.cache_dir()  # after reading: the hf source's files only exist once downloaded
        folder.mkdir(parents=True, exist_ok=True)
        for name, split in arrays.items():
            write_atomic(folder / f"{name}.npz", lambda f, split=split: np.savez(f, **split.arrays))
        for side, tok in (("source", source_tok), ("target", target_tok)):
            write_atomic(folder / f"{side}_tokenizer.json", lambda f, tok=tok: f.write(tok.to_str().encode()))
        meta = {
            "source": self.source,
            "data_dir": str(self.data_dir),
            "langs": [self.source_lang, self.target_lang],
            "vocab_sizes": [source_tok.get_vocab_size(), target_tok.get_vocab_size()],
            "sizes": {name: len(split) for name, split in arrays.items()},
            "dropped_train_pairs": cut["train"],
            "truncated_pairs": {"val": cut["val"], "test": cut["test"]},
            "settings": {"tokenizer": self.tokenizer_kind, "vocab_size": self.vocab_size,
                         "shared_vocab": self.shared_vocab, "max_length": self.max_length,
                         "val_size": self.val_size, "test_size": self.test_size, "seed": self.seed},
        }  # fmt: skip
        write_atomic(folder / META, lambda f: f.write(json.dumps(meta, indent=1).encode()))
        log.info(
            "tokenized %s -> %s pairs (%s) into %s", self.source_lang, self.target_lang, self.source, folder
        )
        return folder

    def _load(self, folder: Path) -> None:
        self.source_tokenizer = Tokenizer.from_file(str(folder / "source_tokenizer.json"))
        self.target_tokenizer = Tokenizer.from_file(str(folder / "target_tokenizer.json"))
        if self._expected_state is not None:  # a checkpoint was loaded before setup: refuse before any batch
            self.load_state_dict(self._expected_state)
        splits = []
        for name in SPLIT_NAMES:
            with np.load(folder / f"{name}.npz") as arrays:
                splits.append(PairSplit(**{key: arrays[key] for key in PairSplit.ARRAYS}))
        self.train_set, self.val_set, self.test_set = splits
        meta = json.loads((folder / META).read_text())
        self.dropped_train_pairs = meta["dropped_train_pairs"]
        if self.dropped_train_pairs:
            log.info(
                "%d over-long training pairs were left out (%s)", self.dropped_train_pairs, folder / META
            )
        self.cache_folder = folder

    # --- tokens and texts ------------------------------------------------------------------------------
    def _tokenizers(self) -> tuple[Tokenizer, Tokenizer]:
        if self.source_tokenizer is None or self.target_tokenizer is None:
            raise RuntimeError("TranslationDataModule.setup() must run before the tokenizers are used")
        return self.source_tokenizer, self.target_tokenizer

    @property
    def source_vocab_size(self) -> int:
        """The trained source vocabulary's size, special tokens included (at most `vocab_size`)."""
        return self._tokenizers()[0].get_vocab_size()

    @property
    def target_vocab_size(self) -> int:
        return self._tokenizers()[1].get_vocab_size()

    pad_id, unk_id, bos_id, eos_id = PAD_ID, UNK_ID, BOS_ID, EOS_ID

    def encode_source(self, texts: list[str]) -> list[list[int]]:
        """Subword ids of raw source sentences, exactly as in the cached splits (no BOS/EOS)."""
        return encode(self._tokenizers()[0], texts, self.max_length)

    def encode_target(self, texts: list[str]) -> list[list[int]]:
        """Subword ids of raw target sentences as in the cached splits, without BOS/EOS."""
        return encode(self._tokenizers()[1], texts, self.max_length)

    def decode_target(self, ids) -> list[str]:
        """The sentence of each row of target ids (lists or an (N, T) tensor); PAD/BOS/EOS dropped."""
        return decode(self._tokenizers()[1], ids)

    def source_tokens(self, ids) -> list[str]:
        return tokens(self._tokenizers()[0], ids)

    def target_tokens(self, ids) -> list[str]:
        return tokens(self._tokenizers()[1], ids)

    def val_pairs(self, k: int) -> list[tuple[str, str]]:
        """The raw `(source, target)` texts of the first `k` validation pairs, in `val_set` order."""
        if self.val_set is None:
            raise RuntimeError("TranslationDataModule.setup() must run before val_pairs()")
        return [self.val_set.texts(i) for i in range(min(k, len(self.val_set)))]

    # --- checkpoints -----------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Saved in checkpoints; `translate` rebuilds the tokenizers from it (`tokenizers_from_state`)."""
        if self.source_tokenizer is None or self.target_tokenizer is None:
            return {}
        return {"source_tokenizer": self.source_tokenizer.to_str(),
                "target_tokenizer": self.target_tokenizer.to_str()}  # fmt: skip

    @staticmethod
    def checked_state(state: dict) -> dict:
        """What a checkpoint may hold as this DataModule's state (the checkpoint reader's check)."""
        tokenizers_from_state(state)
        return {key: state[key] for key in ("source_tokenizer", "target_tokenizer")}

    def load_state_dict(self, state_dict: dict) -> None:
        """Refuse a checkpoint whose tokenizers differ from the ones this configuration builds."""
        if self.source_tokenizer is None or self.target_tokenizer is None:
            self._expected_state = dict(state_dict)  # checked by setup()
            return
        for side, tok in (("source", self.source_tokenizer), ("target", self.target_tokenizer)):
            saved = state_dict.get(f"{side}_tokenizer")
            if saved is not None and saved != tok.to_str():
                raise InputError(
                    f"the checkpoint's {side} tokenizer differs from the one built from this data "
                    "configuration (vocabulary, tokenizer settings or data changed): token ids would not "
                    "match the embeddings"
                )

    # --- loaders ---------------------------------------------------------------------------------------
    def _loader(self, split: PairSplit, batch_size: int, shuffle: bool) -> DataLoader:
        world, _ = world_and_rank(self.trainer)
        if world > 1 and shuffle:  # the configured batch size is global; each rank takes its share
            batch_size = per_rank_batch_size(batch_size, world)
        batches = BucketBatchSampler(split.lengths, batch_size, shuffle=shuffle, bucketing=self.bucketing,
                                     bucket_factor=self.bucket_factor, seed=self.seed)  # fmt: skip
        return batch_loader(
            split,
            rank_batches(batches, self.trainer, split=not shuffle),
            self.num_workers,
            self.seed,
            collate_fn=pair_collate,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, self.eval_batch_size, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, self.eval_batch_size, shuffle=False)
