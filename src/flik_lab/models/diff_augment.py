"""Differentiable augmentation (Zhao et al. 2020, DiffAugment) of D's inputs, real and generated alike.

With a few thousand training images D learns them by heart; augmenting both sides of D's game with the
same random, differentiable transforms keeps it from doing so while G still receives gradients.
"""

import torch
import torch.nn.functional as F

AUGMENTATIONS = ("translation", "cutout")


def translate(images: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Each image shifted by up to `ratio` of its side in x and y (integer pixels), zeros coming in."""
    n, _, h, w = images.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    padded = F.pad(images, (sw, sw, sh, sh))
    dy = torch.randint(0, 2 * sh + 1, (n,), device=images.device)
    dx = torch.randint(0, 2 * sw + 1, (n,), device=images.device)
    rows = (dy.view(n, 1) + torch.arange(h, device=images.device)).view(n, 1, h, 1)
    cols = (dx.view(n, 1) + torch.arange(w, device=images.device)).view(n, 1, 1, w)
    index = (rows * padded.shape[3] + cols).expand(n, images.shape[1], h, w)
    return padded.flatten(2).gather(2, index.flatten(2)).view_as(images)


def cutout(images: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Each image with a random square, `ratio` of its side, set to 0 (it may hang over the edge)."""
    n, _, h, w = images.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + 1 - ch % 2, (n, 1, 1), device=images.device)
    cx = torch.randint(0, w + 1 - cw % 2, (n, 1, 1), device=images.device)
    y = torch.arange(h, device=images.device).view(1, h, 1)
    x = torch.arange(w, device=images.device).view(1, 1, w)
    inside = ((y - cy + ch // 2) >= 0) & ((y - cy + ch // 2) < ch) & ((x - cx + cw // 2) >= 0)
    inside &= (x - cx + cw // 2) < cw
    return images * (~inside).unsqueeze(1).to(images.dtype)


def diff_augment(images: torch.Tensor, policy: tuple[str, ...]) -> torch.Tensor:
    """`images` through each augmentation named in `policy`, in order."""
    for name in policy:
        images = translate(images) if name == "translation" else cutout(images)
    return images
