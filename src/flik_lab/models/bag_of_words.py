"""Classifiers of word counts: how far a reader blind to word order gets on labelled reviews."""

import re
from collections import Counter

import torch
import torch.nn.functional as F
from torch import nn

from flik_lab.utils.arguments import ArgumentError, require_positive

# as the IMDB tokenizer: lowercased, `<br />` removed, words and punctuation runs
_BREAK, _WORD = re.compile(r"<br\s*/?>"), re.compile(r"\w+|[^\w\s]+")


def words(text: str) -> list[str]:
    """The words and punctuation runs of `text`, lowercased, `<br />` tags removed."""
    return _WORD.findall(_BREAK.sub(" ", text.lower()))


def word_counts(texts: list[str], vocabulary: dict[str, int]) -> torch.Tensor:
    """`(N, len(vocabulary))` counts of each vocabulary word in each text; other words are dropped."""
    counts = torch.zeros(len(texts), len(vocabulary))
    for row, text in enumerate(texts):
        for word, count in Counter(words(text)).items():
            if word in vocabulary:
                counts[row, vocabulary[word]] = count
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
    frequency = Counter(word for text, _ in train for word in words(text))
    vocabulary = {word: i for i, word in enumerate(sorted(w for w, c in frequency.items() if c >= min_count))}
    x = word_counts([text for text, _ in train], vocabulary)
    y = torch.tensor([label for _, label in train], dtype=torch.float32)
    model = _fit_mlp(x, y, l2, hidden) if hidden else _fit_linear(x, y, l2)
    with torch.no_grad():
        logits = model(word_counts([text for text, _ in test], vocabulary)).squeeze(-1)
        labels = torch.tensor([label for _, label in test])
        return float(((logits > 0).long() == labels).float().mean())
