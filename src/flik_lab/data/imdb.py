"""`data=imdb`: IMDB movie-review sentiment (25k train / 25k test) as word ids, tokenized once and cached."""

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import lightning as L
import numpy as np
import torch
from tokenizers import Tokenizer
from torch.utils.data import DataLoader

from flik_lab.data.atomic_files import write_atomic
from flik_lab.data.epoch_batches import batch_loader
from flik_lab.data.image_tensors import seeded_split
from flik_lab.data.sharding import per_rank_batch_size, rank_batches, world_and_rank
from flik_lab.data.splits import held_out
from flik_lab.data.text.batching import BucketBatchSampler, TokenizedSplit, pad_collate
from flik_lab.data.text.sources import SOURCES, input_files, load_reviews
from flik_lab.data.text.tokenizer import (
    PAD_ID,
    UNK_ID,
    build_tokenizer,
    encode,
    encode_flat,
    tokenizer_from_state,
)
from flik_lab.utils.errors import InputError
from flik_lab.utils.progress_log import logged_phase

log = logging.getLogger(__name__)

CACHE_VERSION = 1  # bump when the tokenizer or the cache files change
SPLIT_NAMES = ("train", "val", "test")
META = "meta.json"  # written last: its presence marks a complete cache folder


def _save_split(folder: Path, name: str, tokenizer: Tokenizer, reviews: list[tuple[str, int]]) -> None:
    ids, offsets = encode_flat(tokenizer, [text for text, _ in reviews])
    labels = np.array([label for _, label in reviews], dtype=np.int64)
    write_atomic(folder / f"{name}.npz", lambda f: np.savez(f, ids=ids, offsets=offsets, labels=labels))


class IMDBDataModule(L.LightningDataModule):
    """Batches of `dict(tokens (N, T) padded with [PAD]=0 at the end, lengths (N,), labels (N,) 1 = pos)`.

    Validation is held out of the train split by seed, the vocabulary is built on the rest; test is only
    used for test. Sources: `hf` (stanfordnlp/imdb from the hub), `parquet` (the hub's files in
    `<data_dir>/imdb/plain_text`), `aclimdb` (the original `<data_dir>/aclImdb` folders).
    """

    data_kinds = ("reviews",)  # the `data_kind`s of the models it can feed

    def __init__(
        self,
        data_dir: str,
        source: str = "hf",
        batch_size: int = 64,
        eval_batch_size: int = 256,
        max_length: int = 400,
        vocab_size: int = 20000,
        min_frequency: int = 2,
        val_size: float = 0.1,
        bucketing: bool = True,
        bucket_factor: int = 50,
        num_workers: int = 0,
        seed: int = 0,
    ):
        super().__init__()
        if source not in SOURCES:
            raise InputError(f"unknown IMDB source {source!r}; valid sources: {', '.join(SOURCES)}")
        positive = {
            "batch_size": batch_size,
            "eval_batch_size": eval_batch_size,
            "max_length": max_length,
            "min_frequency": min_frequency,
            "bucket_factor": bucket_factor,
        }
        for name, value in positive.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 3:
            raise InputError(f"vocab_size must be an integer >= 3 ([PAD], [UNK], a word), got {vocab_size!r}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise InputError(f"num_workers must be an integer >= 0, got {num_workers!r}")
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.source = source
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.max_length, self.vocab_size, self.min_frequency = max_length, vocab_size, min_frequency
        self.val_size, self.seed = val_size, seed
        self.bucketing, self.bucket_factor = bool(bucketing), bucket_factor
        self.num_workers = num_workers
        self.tokenizer: Tokenizer | None = None
        self.train_set: TokenizedSplit | None = None
        self.val_set: TokenizedSplit | None = None
        self.test_set: TokenizedSplit | None = None
        self.cache_folder: Path | None = None
        self._val_texts: list[str] | None = None

    def cache_key(self) -> str:
        """Hash of the input files (names, sizes, mtimes) and every setting that changes the cached arrays."""
        root, files = input_files(self.source, self.data_dir)
        stats = []
        for path in files:
            stat = path.stat()
            stats.append([str(path.relative_to(root)), stat.st_size, stat.st_mtime_ns])
        settings = {
            "version": CACHE_VERSION,
            "source": self.source,
            "input": str(root),
            "files": stats,
            "vocab_size": self.vocab_size,
            "min_frequency": self.min_frequency,
            "max_length": self.max_length,
            "val_size": self.val_size,
            "seed": self.seed,
        }
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]

    def cache_dir(self) -> Path:
        return self.data_dir / "cache" / f"imdb-{self.cache_key()}"

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

    def _build(self) -> Path:
        with logged_phase(f"reading the IMDB reviews ({self.source})", log):
            reviews = load_reviews(self.source, self.data_dir)
        train = reviews["train"]
        classes = sorted({label for _, label in train})
        if classes != [0, 1]:
            raise InputError(
                f"the {self.source} train split in {self.data_dir} holds labels {classes}; a sentiment "
                "classifier needs negative (0) and positive (1) reviews"
            )
        val_size = held_out(self.val_size, len(train), "data.val_size", f"{self.source} training reviews")
        # the hub's train split is sorted by label: the permutation also shuffles it
        train_idx, val_idx = seeded_split(len(train), [len(train) - val_size, val_size], self.seed)
        splits = {
            "train": [train[i] for i in train_idx.tolist()],
            "val": [train[i] for i in val_idx.tolist()],
            "test": reviews["test"],
        }
        with logged_phase(f"building the vocabulary of {len(splits['train'])} training reviews", log):
            tokenizer = build_tokenizer(
                [text for text, _ in splits["train"]], self.vocab_size, self.min_frequency, self.max_length
            )
        folder = self.cache_dir()  # after loading: the hf source's files only exist once downloaded
        folder.mkdir(parents=True, exist_ok=True)
        for name, split in splits.items():
            with logged_phase(f"tokenizing {len(split)} {name} reviews", log):
                _save_split(folder, name, tokenizer, split)
        write_atomic(folder / "tokenizer.json", lambda f: f.write(tokenizer.to_str().encode()))
        val_texts = json.dumps([text for text, _ in splits["val"]]).encode()
        write_atomic(folder / "val_texts.json", lambda f: f.write(val_texts))
        meta = {
            "source": self.source,
            "data_dir": str(self.data_dir),
            "vocab_size": tokenizer.get_vocab_size(),
            "sizes": {name: len(split) for name, split in splits.items()},
            "settings": {
                "max_length": self.max_length,
                "min_frequency": self.min_frequency,
                "val_size": self.val_size,
                "seed": self.seed,
            },
        }
        write_atomic(folder / META, lambda f: f.write(json.dumps(meta, indent=1).encode()))
        log.info("tokenized IMDB (%s) into %s", self.source, folder)
        return folder

    def _load(self, folder: Path) -> None:
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        splits = []
        for name in SPLIT_NAMES:
            with np.load(folder / f"{name}.npz") as arrays:
                splits.append(TokenizedSplit(arrays["ids"], arrays["offsets"], arrays["labels"]))
        self.train_set, self.val_set, self.test_set = splits
        self.cache_folder = folder

    def _require_tokenizer(self) -> Tokenizer:
        if self.tokenizer is None:
            raise RuntimeError("IMDBDataModule.setup() must run before the tokenizer is used")
        return self.tokenizer

    @property
    def vocab_size_actual(self) -> int:
        """The trained vocabulary's size, special tokens included (at most `vocab_size`)."""
        return self._require_tokenizer().get_vocab_size()

    @property
    def pad_id(self) -> int:
        return PAD_ID

    @property
    def unk_id(self) -> int:
        return UNK_ID

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids of raw reviews, normalized and truncated exactly as the cached splits."""
        return encode(self._require_tokenizer(), list(texts))

    def decode_tokens(self, ids: Sequence[int] | torch.Tensor) -> list[str]:
        """The token string of each id (`[PAD]` and `[UNK]` included), e.g. the words of an attention plot."""
        tokenizer = self._require_tokenizer()
        ids = ids.tolist() if isinstance(ids, torch.Tensor | np.ndarray) else list(ids)
        tokens = [tokenizer.id_to_token(int(i)) for i in ids]
        if None in tokens:
            bad = ids[tokens.index(None)]
            raise InputError(f"token id {bad} is outside the vocabulary of {tokenizer.get_vocab_size()}")
        return tokens

    def val_texts(self, k: int) -> list[str]:
        """The raw text of the first `k` validation reviews (in `val_set` order)."""
        if self.cache_folder is None:
            raise RuntimeError("IMDBDataModule.setup() must run before val_texts()")
        if self._val_texts is None:
            self._val_texts = json.loads((self.cache_folder / "val_texts.json").read_text())
        return self._val_texts[:k]

    def state_dict(self) -> dict:
        """Saved in every checkpoint, so `explain` and `eval` tokenize exactly as training did."""
        return {"tokenizer": self.tokenizer.to_str()} if self.tokenizer is not None else {}

    @staticmethod
    def checked_state(state: dict) -> dict:
        """What a checkpoint may hold as this DataModule's state (the checkpoint reader's check)."""
        tokenizer_from_state(state.get("tokenizer"), "tokenizer")
        return {"tokenizer": state["tokenizer"]}

    def load_state_dict(self, state_dict: dict) -> None:
        saved = state_dict.get("tokenizer")
        if saved is not None and self.tokenizer is not None and saved != self.tokenizer.to_str():
            raise InputError(
                "the checkpoint's tokenizer differs from the one built from this data configuration "
                "(vocabulary, max_length or data changed): token ids would not match the embeddings"
            )

    def _loader(self, split: TokenizedSplit, batch_size: int, shuffle: bool) -> DataLoader:
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
            collate_fn=pad_collate,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, self.eval_batch_size, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, self.eval_batch_size, shuffle=False)
