"""Attention heatmaps show every token the model read, wrapped in rows, on one scale with a colour bar."""

import matplotlib.pyplot as plt
import numpy as np

from flik_lab.plots.attention import attention_figure
from flik_lab.plots.explained import Explained


def _review(n: int, seed: int) -> Explained:
    weights = np.random.default_rng(seed).random(n)
    return Explained([f"w{i}" for i in range(n)], weights / weights.sum(), 0.8, 1)


def test_the_whole_review_is_drawn_with_a_colour_bar():
    reviews = [_review(230, 0), _review(45, 1)]
    fig = attention_figure(reviews)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "w229" in texts and "w44" in texts  # the last words too: nothing cut at 60 tokens
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert not any("first" in title for title in titles)
    colour_bars = [ax for ax in fig.axes if ax.get_ylabel() == "attention weight"]
    assert len(fig.axes) == 3 and len(colour_bars) == 1
    plt.close(fig)


def test_max_tokens_still_cuts_and_says_so():
    fig = attention_figure([_review(100, 0)], max_tokens=30)
    assert "first 30 of 100 tokens" in fig.axes[0].get_title(loc="left")
    plt.close(fig)
