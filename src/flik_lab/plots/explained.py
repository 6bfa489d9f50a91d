"""What a text classifier says about reviews: their words, each word's attention weight and p(positive)."""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Explained:
    """One review: its words, the weight of each (None without attention), and p(positive)."""

    words: list[str]
    weights: np.ndarray | None
    p_positive: float
    label: int | None = None


@torch.no_grad()
def explain_ids(
    model: torch.nn.Module, ids: list[list[int]], decode: Callable[[list[int]], list[str]]
) -> list[Explained]:
    """Each review's words, p(positive) and attention weights (None when the encoder has none)."""
    lengths = torch.tensor([len(row) for row in ids])
    tokens = torch.zeros(len(ids), int(lengths.max()), dtype=torch.long)
    for i, row in enumerate(ids):
        tokens[i, : len(row)] = torch.tensor(row)
    was_training = model.training
    model.eval()
    logits, weights = model(tokens.to(model.device), lengths.to(model.device))
    model.train(was_training)
    probs = torch.sigmoid(logits.float()).cpu()
    weights = weights.float().cpu() if weights is not None else None
    return [
        Explained(decode(row), None if weights is None else weights[i, : len(row)].numpy(), float(probs[i]))
        for i, row in enumerate(ids)
    ]
