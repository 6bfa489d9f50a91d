"""Heatmaps of attention weights over the words of reviews: "plots of what the model attends to"."""

import matplotlib.pyplot as plt
import numpy as np

from flik_lab.plots.explained import Explained


def attention_figure(
    reviews: list[Explained], max_tokens: int | None = None, words_per_row: int = 20
) -> plt.Figure:
    """Each review's words (the first `max_tokens`; None: all the model read) in rows of `words_per_row`,
    coloured by their weight on one scale, with a colour bar."""
    lines = []
    for review in reviews:
        n = len(review.words) if max_tokens is None else min(len(review.words), max_tokens)
        lines.append([(review.words[i:j], review.weights[i:j]) for i, j in _chunks(n, words_per_row)])
    height = sum(len(chunks) * 0.45 + 0.6 for chunks in lines)
    fig, axes = plt.subplots(
        len(reviews), 1, figsize=(15, max(height, 1.8)), squeeze=False, layout="constrained"
    )
    vmax = max(float(r.weights[:max_tokens].max()) for r in reviews) or 1.0
    for ax, review, chunks in zip(axes[:, 0], reviews, lines, strict=True):
        grid = np.full((len(chunks), words_per_row), np.nan)
        for row, (_, weights) in enumerate(chunks):
            grid[row, : len(weights)] = weights
        image = ax.imshow(grid, cmap="Reds", vmin=0, vmax=vmax, aspect="auto")
        for row, (words, weights) in enumerate(chunks):
            for col, (word, weight) in enumerate(zip(words, weights, strict=True)):
                color = "white" if weight > 0.6 * vmax else "black"  # readable on dark cells
                ax.text(col, row, word, ha="center", va="center", fontsize=7, color=color)
        truth = "" if review.label is None else f", label {'positive' if review.label else 'negative'}"
        shown = sum(len(words) for words, _ in chunks)
        more = f" (first {shown} of {len(review.words)} tokens)" if shown < len(review.words) else ""
        ax.set_title(f"p(positive) = {review.p_positive:.2f}{truth}{more}", fontsize=9, loc="left")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(image, ax=axes[:, 0].tolist(), label="attention weight", shrink=0.9, pad=0.01)
    return fig


def _chunks(n: int, size: int) -> list[tuple[int, int]]:
    return [(i, min(i + size, n)) for i in range(0, n, size)]
