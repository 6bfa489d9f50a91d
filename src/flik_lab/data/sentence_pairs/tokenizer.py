"""Subword tokenizers (Hugging Face `tokenizers`, BPE or unigram) whose decoding gives the sentence back.

NFKC (and optionally lowercase), then Metaspace: each space becomes `▁` at the start of the next word, so
`decode(encode(x)) == x`. `[PAD]`=0, `[UNK]`=1, `[BOS]`=2, `[EOS]`=3 in every vocabulary.
"""

import functools
from collections.abc import Sequence
from itertools import chain
from typing import Literal, get_args

import numpy as np
from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers
from tokenizers.models import BPE, Unigram
from tokenizers.trainers import BpeTrainer, UnigramTrainer

from flik_lab.data.tokenizer_state import checked_tokenizer
from flik_lab.utils.errors import InputError

PAD, UNK, BOS, EOS = "[PAD]", "[UNK]", "[BOS]", "[EOS]"
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
SPECIALS = [PAD, UNK, BOS, EOS]
TokenizerKind = Literal["bpe", "unigram"]
KINDS = get_args(TokenizerKind)
_DROPPED = (PAD_ID, BOS_ID, EOS_ID)
SIDES = ("source", "target")


def build_tokenizer(
    texts: Sequence[str],
    kind: str = "bpe",
    vocab_size: int = 1000,
    min_frequency: int = 2,
    lowercase: bool = False,
) -> Tokenizer:
    """A `kind` tokenizer of at most `vocab_size` tokens (specials included) trained on `texts`."""
    if kind == "bpe":
        tokenizer = Tokenizer(BPE(unk_token=UNK))
        trainer = BpeTrainer(
            vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIALS, show_progress=False
        )
    elif kind == "unigram":  # min_frequency has no meaning here: unigram prunes by likelihood
        tokenizer = Tokenizer(Unigram())
        trainer = UnigramTrainer(
            vocab_size=vocab_size, special_tokens=SPECIALS, unk_token=UNK, show_progress=False
        )
    else:
        raise InputError(f"unknown tokenizer {kind!r}; valid: {', '.join(KINDS)}")
    steps = [normalizers.NFKC(), *([normalizers.Lowercase()] if lowercase else [])]
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(prepend_scheme="always", split=True)
    tokenizer.train_from_iterator(texts, trainer=trainer, length=len(texts))
    ids = [tokenizer.token_to_id(token) for token in SPECIALS]
    if ids != [PAD_ID, UNK_ID, BOS_ID, EOS_ID]:
        raise RuntimeError(
            f"the trained vocabulary must start with {', '.join(SPECIALS)}; their ids are {ids}"
        )
    return tokenizer


def encode(tokenizer: Tokenizer, texts: Sequence[str], max_length: int | None) -> list[list[int]]:
    """Subword ids of each text (no BOS/EOS), cut to `max_length` (None: whole); nothing left -> `[UNK]`."""
    rows = [
        encoding.ids or [UNK_ID] for encoding in tokenizer.encode_batch(list(texts), add_special_tokens=False)
    ]
    return rows if max_length is None else [row[:max_length] for row in rows]


def encode_flat(rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """All ids concatenated (int32) and the `N + 1` offsets (int64) where each row starts."""
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(row) for row in rows], out=offsets[1:])
    return np.fromiter(chain.from_iterable(rows), dtype=np.int32, count=int(offsets[-1])), offsets


def _lists(ids) -> list[list[int]]:
    return [row.tolist() if hasattr(row, "tolist") else list(row) for row in ids]


def decode(tokenizer: Tokenizer, ids) -> list[str]:
    """The sentence of each row of ids; `[PAD]`, `[BOS]` and `[EOS]` dropped, `[UNK]` kept."""
    rows = [[int(i) for i in row if int(i) not in _DROPPED] for row in _lists(ids)]
    return tokenizer.decode_batch(rows, skip_special_tokens=False)


def tokens(tokenizer: Tokenizer, ids) -> list[str]:
    """The token string of each id (e.g. `▁drei`, `[EOS]`): the labels of an attention plot."""
    ids = ids.tolist() if hasattr(ids, "tolist") else list(ids)
    found = [tokenizer.id_to_token(int(i)) for i in ids]
    if None in found:
        bad = ids[found.index(None)]
        raise InputError(f"token id {bad} is outside the vocabulary of {tokenizer.get_vocab_size()}")
    return found


@functools.cache
def _written() -> list[Tokenizer]:
    texts = ["ein zwei drei", "zwei drei"]
    return [build_tokenizer(texts, kind, 40, 1, lowercase) for kind in KINDS for lowercase in (False, True)]


def tokenizer_from_state(text: object, key: str) -> Tokenizer:
    """A tokenizer a checkpoint saved, refused unless `build_tokenizer` could have written it."""
    return Tokenizer.from_str(checked_tokenizer(text, key, _written()))


def tokenizers_from_state(state: dict) -> tuple[Tokenizer, Tokenizer]:
    """The (source, target) tokenizers saved by `TranslationDataModule.state_dict()` (in every checkpoint)."""
    missing = [key for key in ("source_tokenizer", "target_tokenizer") if key not in state]
    if missing:
        raise InputError(f"the saved data state has no {missing}; found {sorted(state)}")
    return tuple(
        tokenizer_from_state(state[f"{side}_tokenizer"], f"{side}_tokenizer") for side in ("source", "target")
    )
