"""CycleGAN's losses on images and on the least-squares discriminators' patch logits."""

import torch
import torch.nn.functional as F
from torch import nn


def lsgan_loss(logits: torch.Tensor, target: float) -> torch.Tensor:
    """Least-squares GAN loss (Mao et al. 2017): mean (D(x) - target)^2 over every patch."""
    return F.mse_loss(logits, torch.full_like(logits, target))


def discriminator_loss(discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """One discriminator's LSGAN loss: real images towards 1, generated ones towards 0."""
    return lsgan_loss(discriminator(real), 1.0) + lsgan_loss(discriminator(fake), 0.0)


def shape_loss(translated: torch.Tensor, source: torch.Tensor, window: int) -> torch.Tensor:
    """L1 between the `window`-pixel average-pooled images: the translation keeps the source's coarse layout
    (where ink is) and is free below that scale, where style lives (strokes, serifs, texture)."""
    return F.l1_loss(
        F.avg_pool2d(translated, window, ceil_mode=True), F.avg_pool2d(source, window, ceil_mode=True)
    )
