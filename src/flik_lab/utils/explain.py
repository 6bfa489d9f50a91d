"""Run a text classifier on token ids and collect, per review, its words, weights and prediction."""

from collections.abc import Callable

import torch

from flik_lab.plots.attention import Explained


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
