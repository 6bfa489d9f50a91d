"""`data=imdb`: IMDB movie-review sentiment (25k train / 25k test) as word ids, tokenized once and cached."""

import json
import logging
from collections.abc import Sequence
from typing import Annotated, Literal

import numpy as np
import torch
from tokenizers import Tokenizer

from flik_lab.data.corpus import Index, TokenizedCorpus, TokenizedCorpusDataModule
from flik_lab.data.image_tensors import seeded_split
from flik_lab.data.reviews.batching import TokenizedSplit, pad_collate
from flik_lab.data.reviews.sources import Reviews, input_files, load_reviews
from flik_lab.data.reviews.tokenizer import (
    PAD_ID,
    UNK_ID,
    build_tokenizer,
    encode,
    encode_flat,
    tokenizer_from_state,
)
from flik_lab.data.splits import held_out
from flik_lab.utils.arguments import Count, at_least, check_declared
from flik_lab.utils.errors import InputError
from flik_lab.utils.progress_log import logged_phase

log = logging.getLogger(__name__)

CACHE_VERSION = 1  # bump when the tokenizer or the cache files change


def _split_arrays(tokenizer: Tokenizer, reviews: Reviews) -> dict[str, np.ndarray]:
    ids, offsets = encode_flat(tokenizer, [text for text, _ in reviews])
    return {
        "ids": ids,
        "offsets": offsets,
        "labels": np.array([label for _, label in reviews], dtype=np.int64),
    }


class IMDBDataModule(TokenizedCorpusDataModule):
    """Batches of `dict(tokens (N, T) padded with [PAD]=0 at the end, lengths (N,), labels (N,) 1 = pos)`.

    Validation is held out of the train split by seed, the vocabulary is built on the rest; test is only
    used for test. Sources: `hf` (stanfordnlp/imdb from the hub), `parquet` (the hub's files in
    `<data_dir>/imdb/plain_text`), `aclimdb` (the original `<data_dir>/aclImdb` folders).
    """

    data_kinds = ("reviews",)  # the `data_kind`s of the models it can feed
    CACHE_NAME, TOKENIZERS = "imdb", ("tokenizer",)
    split_type, collate = TokenizedSplit, staticmethod(pad_collate)

    def __init__(
        self,
        data_dir: str,
        source: Literal["hf", "parquet", "aclimdb"] = "hf",
        batch_size: Count = 64,
        eval_batch_size: Count = 256,
        max_length: Count = 400,
        vocab_size: Annotated[int, at_least(3)] = 20000,  # [PAD], [UNK] and at least one word
        min_frequency: Count = 2,
        val_size: float = 0.1,
        bucketing: bool = True,
        bucket_factor: Count = 50,
        num_workers: Index = 0,
        seed: int = 0,
    ):
        check_declared(IMDBDataModule.__init__, locals())
        super().__init__(data_dir, batch_size, eval_batch_size, bucketing, bucket_factor, num_workers, seed)
        self.source = source
        self.max_length, self.vocab_size, self.min_frequency = max_length, vocab_size, min_frequency
        self.val_size = val_size
        self._val_texts: list[str] | None = None

    def cache_settings(self) -> dict:
        """The input files (names, sizes, mtimes) and every setting that changes the cached arrays."""
        root, files = input_files(self.source, self.data_dir)
        stats = []
        for path in files:
            stat = path.stat()
            stats.append([str(path.relative_to(root)), stat.st_size, stat.st_mtime_ns])
        return {
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

    def _read_splits(self) -> dict[str, Reviews]:
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
        return {
            "train": [train[i] for i in train_idx.tolist()],
            "val": [train[i] for i in val_idx.tolist()],
            "test": reviews["test"],
        }

    def tokenize(self) -> TokenizedCorpus:
        splits = self._read_splits()
        with logged_phase(f"building the vocabulary of {len(splits['train'])} training reviews", log):
            texts = [text for text, _ in splits["train"]]
            tokenizer = build_tokenizer(texts, self.vocab_size, self.min_frequency, self.max_length)
        arrays = {}
        for name, split in splits.items():
            with logged_phase(f"tokenizing {len(split)} {name} reviews", log):
                arrays[name] = _split_arrays(tokenizer, split)
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
        val_texts = json.dumps([text for text, _ in splits["val"]]).encode()
        label = f"IMDB ({self.source})"
        return TokenizedCorpus(label, arrays, {"tokenizer": tokenizer}, meta, {"val_texts.json": val_texts})

    @staticmethod
    def read_tokenizers(state: dict) -> dict[str, Tokenizer]:
        return {"tokenizer": tokenizer_from_state(state.get("tokenizer"), "tokenizer")}

    @property
    def tokenizer(self) -> Tokenizer | None:
        return self.tokenizers.get("tokenizer")

    @property
    def vocab_size_actual(self) -> int:
        """The trained vocabulary's size, special tokens included (at most `vocab_size`)."""
        return self._tokenizer("tokenizer").get_vocab_size()

    pad_id, unk_id = PAD_ID, UNK_ID

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids of raw reviews, normalized and truncated exactly as the cached splits."""
        return encode(self._tokenizer("tokenizer"), list(texts))

    def decode_tokens(self, ids: Sequence[int] | torch.Tensor) -> list[str]:
        """The token string of each id (`[PAD]` and `[UNK]` included), e.g. the words of an attention plot."""
        tokenizer = self._tokenizer("tokenizer")
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
