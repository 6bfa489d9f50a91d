"""Reviews as token-id arrays and the collate that pads them into a batch."""

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from flik_lab.data.reviews.tokenizer import PAD_ID
from flik_lab.utils.errors import InputError


class TokenizedSplit(Dataset):
    """Reviews stored as one flat int32 id array plus offsets; item `i` is `(ids, label)`."""

    def __init__(self, ids: np.ndarray, offsets: np.ndarray, labels: np.ndarray):
        if len(offsets) != len(labels) + 1 or offsets[-1] != len(ids):
            raise InputError(
                f"inconsistent token arrays: {len(ids)} ids, {len(offsets)} offsets, {len(labels)} labels"
            )
        self.ids, self.offsets, self.labels = ids, offsets, labels

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        return self.ids[self.offsets[i] : self.offsets[i + 1]], int(self.labels[i])


def pad_collate(items: Sequence[tuple[np.ndarray, int]]) -> dict[str, torch.Tensor]:
    """`tokens (N, T)` padded with `[PAD]` at the end to the longest item, `lengths (N,)`, `labels (N,)`."""
    lengths = torch.tensor([len(ids) for ids, _ in items], dtype=torch.long)
    tokens = torch.full((len(items), int(lengths.max())), PAD_ID, dtype=torch.long)
    # row-major boolean indexing fills each row's first `length` slots with that row's ids, in order
    mask = torch.arange(tokens.shape[1]) < lengths[:, None]
    tokens[mask] = torch.from_numpy(np.concatenate([ids for ids, _ in items]).astype(np.int64))
    labels = torch.tensor([label for _, label in items], dtype=torch.long)
    return {"tokens": tokens, "lengths": lengths, "labels": labels}
