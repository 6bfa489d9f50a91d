"""Heatmaps of cross-attention: which source tokens each generated target token looked at."""

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np


@dataclass
class Aligned:
    """A translated sentence: source tokens, generated tokens, weights `(T, S)` or `(H, T, S)`."""

    source: list[str]
    target: list[str]
    weights: np.ndarray
    title: str = ""


def cross_attention_figure(sentences: list[Aligned], max_columns: int = 4) -> plt.Figure:
    """One panel per sentence (per head when the weights have a head axis): target rows x source columns."""
    panels = []
    for sentence in sentences:
        weights = np.asarray(sentence.weights, dtype=float)
        if weights.ndim == 2:
            panels.append((sentence, weights, sentence.title))
        else:
            panels += [(sentence, w, f"{sentence.title} (head {h})") for h, w in enumerate(weights)]
    columns = min(max_columns, len(panels))
    rows = -(-len(panels) // columns)
    width = max(3.0, max(0.38 * len(s.source) + 1.5 for s, _, _ in panels))
    height = max(2.5, max(0.3 * len(s.target) + 1.5 for s, _, _ in panels))
    fig, axes = plt.subplots(
        rows, columns, figsize=(width * columns, height * rows), squeeze=False, layout="constrained"
    )
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    for ax, (sentence, weights, title) in zip(axes.flat, panels, strict=False):
        image = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_xticks(range(len(sentence.source)), sentence.source, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(sentence.target)), sentence.target, fontsize=8)
        ax.set_xlabel("source")
        ax.set_ylabel("generated")
        ax.set_title(title, fontsize=8, loc="left", wrap=True)
    fig.colorbar(image, ax=axes.ravel().tolist(), label="cross-attention weight", shrink=0.8)
    return fig
