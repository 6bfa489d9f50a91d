"""A tokenizer saved in a checkpoint is read back only in a shape flik-lab writes: a crafted normaliser regex
can make the Rust library panic (an exception no `except Exception` catches) or run for ever."""

import json
from typing import Any

from tokenizers import Tokenizer

from flik_lab.utils.errors import InputError

PIPELINE = ("normalizer", "pre_tokenizer", "post_processor", "decoder", "added_tokens")
MAX_VOCABULARY = 2_000_000
MAX_LENGTH = 1_000_000


def checked_tokenizer(text: Any, key: str, written: list[Tokenizer]) -> str:
    """`text` when it is the JSON of a tokenizer with the pipeline and model settings of one of `written`
    (flik-lab's own, trained on anything) and a vocabulary of ids 0..n-1; else `InputError` naming `key`."""
    if not isinstance(text, str):
        raise InputError(f"{key}: expected a tokenizer's JSON text, got {type(text).__name__}")
    try:
        saved = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{key}: not a tokenizer's JSON ({str(exc)[:80]})") from None
    if not isinstance(saved, dict) or not isinstance(saved.get("model"), dict):
        raise InputError(f"{key}: not a tokenizer's JSON (no model)")
    references = [json.loads(tokenizer.to_str()) for tokenizer in written]
    fitting = [ref for ref in references if all(saved.get(part) == ref[part] for part in PIPELINE)]
    if not fitting:
        raise InputError(
            f"{key}: its normalizer, pre-tokenizer, decoder or special tokens are not ones flik-lab writes"
        )
    model = saved["model"]
    if not any(_same_settings(model, ref["model"]) for ref in fitting):
        raise InputError(f"{key}: a {_text(model.get('type'))} model with settings flik-lab never writes")
    _check_vocabulary(model.get("vocab"), key)
    truncation = saved.get("truncation")
    if truncation is not None:
        length = truncation.get("max_length") if isinstance(truncation, dict) else None
        if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= MAX_LENGTH:
            raise InputError(f"{key}: truncation max_length {_text(length)}: expected 1 to {MAX_LENGTH}")
    try:
        Tokenizer.from_str(text)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # pyo3's PanicException derives from BaseException
        raise InputError(f"{key}: the tokenizers library cannot read it ({str(exc)[:80]})") from None
    return text


def _same_settings(model: dict, reference: dict) -> bool:
    """Same model type and settings as `reference`; the vocabulary and merges are the trained part."""
    keys = (model.keys() | reference.keys()) - {"vocab", "merges"}
    return all(model.get(k) == reference.get(k) for k in keys)


def _check_vocabulary(vocab: Any, key: str) -> None:
    """A word -> id mapping whose ids are exactly 0..n-1 (a shifted id would index past the embeddings),
    or unigram's list of (piece, score) pairs."""
    if isinstance(vocab, dict):
        ids = list(vocab.values())
        if not 0 < len(ids) <= MAX_VOCABULARY or sorted(ids) != list(range(len(ids))):
            raise InputError(f"{key}: its vocabulary's ids are not 0 to {len(ids) - 1}, each once")
    elif isinstance(vocab, list):
        if not 0 < len(vocab) <= MAX_VOCABULARY or not all(
            isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str) for entry in vocab
        ):
            raise InputError(f"{key}: its vocabulary is not a list of (piece, score) pairs")
    else:
        raise InputError(f"{key}: it has no vocabulary")


def _text(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:40] + "..."
