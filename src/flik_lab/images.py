"""flik-lab's image convention: float `(N, C, H, W)` in [-1, 1] (the generator's tanh range), and its
conversions from uint8 data and to uint8 arrays, grids, GIFs; matplotlib figures as image tensors."""

import math
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torchvision.transforms.functional import to_pil_image
from torchvision.utils import make_grid

from flik_lab.utils.errors import InputError

BOMBS = (Image.DecompressionBombError, Image.DecompressionBombWarning)
MAX_PIXELS = 50_000_000  # a 7000x7000 photo; every image flik-lab reads is resized far below that


def to_unit_range(images_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 `(N, H, W)` or `(N, C, H, W)` -> float32 `(N, C, H, W)` in [-1, 1]."""
    if images_uint8.dim() == 3:
        images_uint8 = images_uint8.unsqueeze(1)
    return images_uint8.float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Images in [-1, 1] -> uint8 array `(N, C, H, W)` in [0, 255]."""
    return ((images.float().cpu() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy()


def to_unit_interval(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] -> float images in [0, 1] (what image viewers and loggers take)."""
    return ((images.float().cpu() + 1) / 2).clamp(0, 1)


def unit_grid(images: torch.Tensor, nrow: int | None = None) -> torch.Tensor:
    """`(N, C, H, W)` images in [-1, 1] -> one `(3, H', W')` grid in [0, 1], `nrow` images a row (None:
    about square, `ceil(sqrt(N))`)."""
    nrow = nrow or math.ceil(math.sqrt(len(images)))
    return make_grid(images.float().cpu(), nrow=nrow, normalize=True, value_range=(-1, 1), padding=2)


def write_gif(frames: list[torch.Tensor], path: Path, frame_ms: int, min_side: int = 256) -> None:
    """An animated GIF that goes forth and back through `frames` (grids in [0, 1]) and loops, scaled up
    (nearest neighbour, whole multiples) until its shorter side is at least `min_side` pixels."""
    images = [to_pil_image(frame) for frame in frames + frames[-2:0:-1]]
    width, height = images[0].size
    scale = max(1, math.ceil(min_side / min(width, height)))
    images = [image.resize((width * scale, height * scale), Image.NEAREST) for image in images]
    images[0].save(path, save_all=True, append_images=images[1:], duration=frame_ms, loop=0)


def figure_to_tensor(fig) -> torch.Tensor:
    """`(3, H, W)` float image in [0, 1] of a drawn matplotlib figure, for TensorBoard and W&B."""
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    return torch.from_numpy(rgba[..., :3].copy()).permute(2, 0, 1).float() / 255


def read_image(path: Path, mode: str, key: str) -> Image.Image:
    """The image file `path` converted to `mode` ("L", "RGB"); one that is unreadable or larger than
    MAX_PIXELS (a decompression bomb) is an `InputError` naming `key` and the file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise InputError(
                        f"{key} {path} is {image.width}x{image.height} pixels; expected at most "
                        f"{MAX_PIXELS:,}: shrink it first"
                    )
                return image.convert(mode)
    except (
        UnidentifiedImageError,
        OSError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as e:
        raise InputError(f"{key} {path} is not a readable image: {e}") from None
