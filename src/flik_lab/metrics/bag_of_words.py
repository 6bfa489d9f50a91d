"""How far a reader blind to word order gets on labelled reviews: classifiers of word counts as a measure."""

import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from torch import nn

from flik_lab.data.reviews.tokenizer import UNK_ID, build_tokenizer, encode_flat
from flik_lab.utils.arguments import ArgumentError, require_positive


def word_counts(tokenizer: Tokenizer, texts: list[str]) -> torch.Tensor:
    """`(N, vocabulary size)` counts of each of the tokenizer's words in each text; unknown words dropped."""
    flat, offsets = encode_flat(tokenizer, texts)
    rows = torch.repeat_interleave(torch.arange(len(texts)), torch.from_numpy(offsets).diff())
    counts = torch.zeros(len(texts), tokenizer.get_vocab_size())
    counts.index_put_((rows, torch.from_numpy(flat).long()), torch.ones(len(flat)), accumulate=True)
    counts[:, UNK_ID] = 0
    return counts


def _fit_linear(x: torch.Tensor, y: torch.Tensor, l2: float) -> nn.Module:
    """Logistic regression, L2-regularised, fitted to convergence by L-BFGS."""
    model = nn.Linear(x.shape[1], 1)
    nn.init.zeros_(model.weight), nn.init.zeros_(model.bias)
    optimizer = torch.optim.LBFGS(model.parameters(), max_iter=500, line_search_fn="strong_wolfe")

    def loss() -> torch.Tensor:
        optimizer.zero_grad()
        value = F.binary_cross_entropy_with_logits(model(x).squeeze(-1), y) + l2 * model.weight.square().sum()
        value.backward()
        return value

    optimizer.step(loss)
    return model


def _fit_mlp(x: torch.Tensor, y: torch.Tensor, l2: float, hidden: int, steps: int = 1000) -> nn.Module:
    """One hidden ReLU layer: sees which words occur together, still not in which order (full-batch Adam)."""
    with torch.random.fork_rng():  # the same start every call, the caller's generator untouched
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(x.shape[1], hidden), nn.ReLU(), nn.Linear(hidden, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=l2)
    for _ in range(steps):
        optimizer.zero_grad()
        F.binary_cross_entropy_with_logits(model(x).squeeze(-1), y).backward()
        optimizer.step()
    return model


def bag_of_words_accuracy(
    train: list[tuple[str, int]],
    test: list[tuple[str, int]],
    min_count: int = 2,
    l2: float = 1e-3,
    hidden: int = 0,
) -> float:
    """Test accuracy of a classifier of the train reviews' word counts: logistic regression (`hidden=0`),
    or an MLP with `hidden` ReLU units."""
    require_positive(min_count=min_count, l2=l2)
    if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 0:
        raise ArgumentError("hidden", hidden, "an integer >= 0 (0: logistic regression)")
    # the IMDB tokenizer, every train word seen `min_count` times, nothing truncated
    tokenizer = build_tokenizer([text for text, _ in train], 10**9, min_count, 10**9)
    x = word_counts(tokenizer, [text for text, _ in train])
    y = torch.tensor([label for _, label in train], dtype=torch.float32)
    model = _fit_mlp(x, y, l2, hidden) if hidden else _fit_linear(x, y, l2)
    with torch.no_grad():
        logits = model(word_counts(tokenizer, [text for text, _ in test])).squeeze(-1)
        labels = torch.tensor([label for _, label in test])
        return float(((logits > 0).long() == labels).float().mean())
