"""Logistic regression on word counts: how far a reader blind to word order gets on labelled reviews."""

import re
from collections import Counter

import torch
import torch.nn.functional as F

from flik_lab.utils.arguments import require_positive

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


def bag_of_words_accuracy(
    train: list[tuple[str, int]], test: list[tuple[str, int]], min_count: int = 2, l2: float = 1e-3
) -> float:
    """Test accuracy of an L2-regularised logistic regression fitted (L-BFGS) on the train word counts."""
    require_positive(min_count=min_count, l2=l2)
    frequency = Counter(word for text, _ in train for word in words(text))
    vocabulary = {word: i for i, word in enumerate(sorted(w for w, c in frequency.items() if c >= min_count))}
    x = word_counts([text for text, _ in train], vocabulary)
    y = torch.tensor([label for _, label in train], dtype=torch.float32)
    weight = torch.zeros(len(vocabulary), requires_grad=True)
    bias = torch.zeros((), requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=500, line_search_fn="strong_wolfe")

    def loss() -> torch.Tensor:
        optimizer.zero_grad()
        value = F.binary_cross_entropy_with_logits(x @ weight + bias, y) + l2 * weight.square().sum()
        value.backward()
        return value

    optimizer.step(loss)
    with torch.no_grad():
        logits = word_counts([text for text, _ in test], vocabulary) @ weight + bias
        labels = torch.tensor([label for _, label in test])
        return float(((logits > 0).long() == labels).float().mean())
