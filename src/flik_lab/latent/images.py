"""Grids, GIFs and figures of decoded latent vectors."""

from pathlib import Path

import torch
from torchvision.transforms.functional import to_pil_image
from torchvision.utils import make_grid


def unit_grid(images: torch.Tensor, nrow: int) -> torch.Tensor:
    """`(N, C, H, W)` images in [-1, 1] -> one `(3, H', W')` grid in [0, 1]."""
    return make_grid(images.float().cpu(), nrow=nrow, normalize=True, value_range=(-1, 1), padding=2)


def write_gif(frames: list[torch.Tensor], path: Path, frame_ms: int) -> None:
    """An animated GIF that goes forth and back through `frames` (grids in [0, 1]) and loops."""
    images = [to_pil_image(frame) for frame in frames + frames[-2:0:-1]]
    images[0].save(path, save_all=True, append_images=images[1:], duration=frame_ms, loop=0)
