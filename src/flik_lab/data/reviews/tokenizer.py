"""The word-level IMDB tokenizer (Hugging Face `tokenizers`) and batch encoding into flat id arrays."""

import functools
from itertools import chain

import numpy as np
from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers
from tokenizers.models import WordLevel
from tokenizers.trainers import WordLevelTrainer

from flik_lab.data.tokenizer_state import checked_tokenizer

PAD, UNK = "[PAD]", "[UNK]"
PAD_ID, UNK_ID = 0, 1


# lowercased, `<br />` tags removed, then words and punctuation runs (\w+|[^\w\s]+)
_NORMALIZER = normalizers.Sequence([normalizers.Lowercase(), normalizers.Replace(Regex(r"<br\s*/?>"), " ")])
_PRE_TOKENIZER = pre_tokenizers.Whitespace()


def words(text: str) -> list[str]:
    """The tokens the tokenizer splits `text` into, before its vocabulary maps them to ids."""
    return [word for word, _ in _PRE_TOKENIZER.pre_tokenize_str(_NORMALIZER.normalize_str(text))]


def build_tokenizer(texts: list[str], vocab_size: int, min_frequency: int, max_length: int) -> Tokenizer:
    """Lowercased words and punctuation runs, `<br />` tags removed; `[PAD]`=0, `[UNK]`=1, truncating."""
    tokenizer = Tokenizer(WordLevel(unk_token=UNK))
    tokenizer.normalizer = _NORMALIZER
    tokenizer.pre_tokenizer = _PRE_TOKENIZER
    trainer = WordLevelTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=[PAD, UNK], show_progress=False
    )
    tokenizer.train_from_iterator(texts, trainer=trainer, length=len(texts))
    if (tokenizer.token_to_id(PAD), tokenizer.token_to_id(UNK)) != (PAD_ID, UNK_ID):
        raise RuntimeError(f"the trained vocabulary must start with {PAD}, {UNK}: {tokenizer.get_vocab()}")
    tokenizer.enable_truncation(max_length)
    return tokenizer


def encode(tokenizer: Tokenizer, texts: list[str]) -> list[list[int]]:
    """Token ids of each text; a text the pre-tokenizer leaves nothing of becomes one `[UNK]`."""
    return [encoding.ids or [UNK_ID] for encoding in tokenizer.encode_batch(texts)]


def encode_flat(tokenizer: Tokenizer, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """All token ids concatenated (int32) and the `N + 1` offsets (int64) where each text starts."""
    ids = encode(tokenizer, texts)
    offsets = np.zeros(len(ids) + 1, dtype=np.int64)
    np.cumsum([len(row) for row in ids], out=offsets[1:])
    flat = np.fromiter(chain.from_iterable(ids), dtype=np.int32, count=int(offsets[-1]))
    return flat, offsets


@functools.cache
def _written() -> list[Tokenizer]:
    return [build_tokenizer(["a b"], vocab_size=10, min_frequency=1, max_length=8)]


def tokenizer_from_state(text: object, key: str) -> Tokenizer:
    """The tokenizer a checkpoint saved (`IMDBDataModule.state_dict()`), refused unless `build_tokenizer`
    could have written it; `key` names it in errors."""
    return Tokenizer.from_str(checked_tokenizer(text, key, _written()))
