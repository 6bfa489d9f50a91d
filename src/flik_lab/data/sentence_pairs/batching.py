"""Sentence pairs as flat id arrays (plus their raw texts) and the collate that pads them into a batch."""

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from flik_lab.data.sentence_pairs.tokenizer import BOS_ID, EOS_ID, PAD_ID, encode_flat
from flik_lab.utils.errors import InputError

PairItem = tuple[np.ndarray, np.ndarray, str, str]


def pack_texts(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes of all texts concatenated (uint8) and the `N + 1` offsets: no pickle, no padding."""
    encoded = [text.encode("utf-8") for text in texts]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8).copy(), offsets


class PairSplit(Dataset):
    """Item `i` is `(source ids, target ids, source text, target text)`; ids have no BOS/EOS."""

    ARRAYS = (
        "source_ids",
        "source_offsets",
        "target_ids",
        "target_offsets",
        "source_bytes",
        "source_text_offsets",
        "target_bytes",
        "target_text_offsets",
    )

    def __init__(self, **arrays: np.ndarray):
        missing = [name for name in self.ARRAYS if name not in arrays]
        if missing:
            raise InputError(f"PairSplit needs the arrays {missing}")
        self.arrays = {name: arrays[name] for name in self.ARRAYS}
        n = len(arrays["source_offsets"]) - 1
        sizes = {name: len(arrays[name]) - 1 for name in self.ARRAYS if name.endswith("offsets")}
        ends = {
            "source_offsets": "source_ids",
            "target_offsets": "target_ids",
            "source_text_offsets": "source_bytes",
            "target_text_offsets": "target_bytes",
        }
        if set(sizes.values()) != {n} or any(arrays[o][-1] != len(arrays[f]) for o, f in ends.items()):
            raise InputError(
                f"inconsistent pair arrays: {sizes} rows, {[len(arrays[f]) for f in ends.values()]}"
            )
        self.n = n

    @classmethod
    def from_rows(cls, source: list[list[int]], target: list[list[int]], pairs: list[tuple[str, str]]):
        """A split from id rows and the raw `(source, target)` texts of the same pairs."""
        source_ids, source_offsets = encode_flat(source)
        target_ids, target_offsets = encode_flat(target)
        source_bytes, source_text_offsets = pack_texts([s for s, _ in pairs])
        target_bytes, target_text_offsets = pack_texts([t for _, t in pairs])
        return cls(
            source_ids=source_ids,
            source_offsets=source_offsets,
            target_ids=target_ids,
            target_offsets=target_offsets,
            source_bytes=source_bytes,
            source_text_offsets=source_text_offsets,
            target_bytes=target_bytes,
            target_text_offsets=target_text_offsets,
        )

    def __len__(self) -> int:
        return self.n

    def _row(self, values: str, offsets: str, i: int) -> np.ndarray:
        starts = self.arrays[offsets]
        return self.arrays[values][starts[i] : starts[i + 1]]

    def source_ids(self, i: int) -> np.ndarray:
        return self._row("source_ids", "source_offsets", i)

    def target_ids(self, i: int) -> np.ndarray:
        return self._row("target_ids", "target_offsets", i)

    def texts(self, i: int) -> tuple[str, str]:
        source = self._row("source_bytes", "source_text_offsets", i).tobytes().decode("utf-8")
        return source, self._row("target_bytes", "target_text_offsets", i).tobytes().decode("utf-8")

    def __getitem__(self, i: int) -> PairItem:
        return self.source_ids(i), self.target_ids(i), *self.texts(i)

    @property
    def source_lengths(self) -> np.ndarray:
        return np.diff(self.arrays["source_offsets"])

    @property
    def target_lengths(self) -> np.ndarray:
        return np.diff(self.arrays["target_offsets"])

    @property
    def lengths(self) -> np.ndarray:
        """The longer side of each pair: what the bucketing sampler groups by."""
        return np.maximum(self.source_lengths, self.target_lengths)


def _padded(rows: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(row) for row in rows], dtype=torch.long)
    out = torch.full((len(rows), int(lengths.max())), PAD_ID, dtype=torch.long)
    # row-major boolean indexing fills each row's first `length` slots with that row's ids, in order
    out[torch.arange(out.shape[1]) < lengths[:, None]] = torch.from_numpy(
        np.concatenate(rows).astype(np.int64)
    )
    return out, lengths


def pair_collate(items: Sequence[PairItem]) -> dict:
    """`source (N, S)` and `target (N, T)` = `[BOS] y [EOS]`, both padded with `[PAD]` at the end, their
    lengths, and the raw `source_text` / `target_text` of each row."""
    source, source_lengths = _padded([item[0] for item in items])
    bos, eos = np.array([BOS_ID], np.int32), np.array([EOS_ID], np.int32)
    target, target_lengths = _padded([np.concatenate([bos, item[1], eos]) for item in items])
    return {
        "source": source,
        "source_lengths": source_lengths,
        "target": target,
        "target_lengths": target_lengths,
        "source_text": [item[2] for item in items],
        "target_text": [item[3] for item in items],
    }
