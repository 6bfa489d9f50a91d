"""The figure of a latent-arithmetic result: the operands, the result and its neighbours."""

import matplotlib.pyplot as plt
import torch

from flik_lab.images import to_unit_interval
from flik_lab.latent.expression import Term


def _show(ax: plt.Axes, image: torch.Tensor) -> None:
    """An image `(C, H, W)` in [-1, 1], grey or RGB."""
    ax.imshow(to_unit_interval(image).permute(1, 2, 0).squeeze(-1), cmap="gray", vmin=0, vmax=1)


def arithmetic_figure(terms: list[Term], operands: torch.Tensor, result: torch.Tensor, around: torch.Tensor):
    """Row 1: each operand's averaged image with its sign, `=` the result; row 2: the result's neighbours."""
    columns = max(len(terms) + 1, len(around))
    fig, axes = plt.subplots(2, columns, figsize=(1.6 * columns, 3.6), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, (term, image) in enumerate(zip(terms, operands, strict=True)):
        _show(axes[0, i], image)
        sign = ("-" if term.sign < 0 else "+") if i else ("-" if term.sign < 0 else "")
        axes[0, i].set_title(f"{sign} {term.concept}".strip())
    _show(axes[0, len(terms)], result)
    axes[0, len(terms)].set_title("= result")
    for i, image in enumerate(around):
        _show(axes[1, i], image)
    axes[1, 0].set_title("neighbours of the result", loc="left")
    fig.tight_layout()
    return fig
