"""Typeset digits drawn from the fonts that ship with matplotlib, sized and centred like MNIST (offline).

Each digit is a glyph outline (`TextPath`) from one of matplotlib's own font files, rotated, scaled, shifted
and thickened by a seeded jitter, and rasterized by Agg (antialiased) straight at the final size: the result
depends only on (labels, size, seed) and matplotlib's shipped fonts, never on the system's fonts.
"""

from collections.abc import Sequence
from functools import cache
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.font_manager import FontProperties
from matplotlib.path import Path as MplPath
from matplotlib.textpath import TextPath
from matplotlib.transforms import Affine2D

from flik_lab.utils.arguments import ArgumentError
from flik_lab.utils.errors import InputError

FONT_FILES = (  # in matplotlib's mpl-data/fonts/ttf: sans, serif, mono and STIX, upright and slanted
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSans-BoldOblique.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf",
    "DejaVuSerif-BoldItalic.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSansMono-Oblique.ttf",
    "STIXGeneral.ttf",
    "STIXGeneralBol.ttf",
    "STIXGeneralItalic.ttf",
    "STIXGeneralBolIta.ttf",
)
BOX = 20 / 28  # MNIST fits each digit in a 20x20 box of the 28x28 image, then centres its mass
MAX_ROTATION = 12.0  # degrees, either way
SCALE = (0.85, 1.0)  # of the box's side, for the longer side of the digit (outline stroke included)
SHIFT = 1.0  # pixels (at 28x28), either way, after centring the mass
STROKE = (0.3, 1.6)  # extra outline width in pixels (at 28x28): from thin print to a thick pen


def font_files() -> list[Path]:
    """The font files used, from matplotlib's own data folder."""
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return [folder / name for name in FONT_FILES]


def font_indices(fonts: Sequence[str] | None) -> list[int]:
    """Positions in `FONT_FILES` of the font files named in `fonts` (None: all of them)."""
    if fonts is None:
        return list(range(len(FONT_FILES)))
    if isinstance(fonts, str) or not isinstance(fonts, Sequence) or not fonts:
        raise ArgumentError("fonts", fonts, "a non-empty list of font file names, or null for all")
    for name in fonts:
        if name not in FONT_FILES:
            raise ArgumentError("fonts", name, f"one of matplotlib's font files {', '.join(FONT_FILES)}")
    if len(set(fonts)) < len(fonts):
        raise ArgumentError("fonts", list(fonts), "each font file once")
    return [FONT_FILES.index(name) for name in fonts]


@cache
def _glyph(font: int, digit: int) -> tuple[MplPath, np.ndarray]:
    """The outline of `digit` in font `font`, its bounding box centred on the origin, and the points of
    its flattened outline (rotated bounding boxes from these are far cheaper than exact Bezier extents)."""
    path = TextPath((0, 0), str(digit), size=100, prop=FontProperties(fname=font_files()[font]))
    box = path.get_extents()
    path = path.transformed(Affine2D().translate(-(box.x0 + box.x1) / 2, -(box.y0 + box.y1) / 2))
    return path, np.concatenate(path.to_polygons(closed_only=False))


def _draw(path: MplPath, transform: Affine2D, size: int, stroke: float) -> np.ndarray:
    """Agg rasterization of the filled and stroked `path`: float `(size, size)` in [0, 1]."""
    renderer = RendererAgg(size, size, 72)  # 72 dpi: a point is a pixel
    gc = renderer.new_gc()
    gc.set_linewidth(stroke)
    gc.set_foreground((1.0, 1.0, 1.0))
    gc.set_joinstyle("round")
    gc.set_capstyle("round")
    gc.set_antialiased(True)
    renderer.draw_path(gc, path, transform, (1.0, 1.0, 1.0))  # coverage lands in alpha
    gc.restore()
    return np.asarray(renderer.buffer_rgba())[..., 3].astype(np.float32) / 255


def _render_one(font: int, digit: int, size: int, scale: float, angle: float, shift, stroke: float):
    path, points = _glyph(font, digit)
    rotate = Affine2D().rotate_deg(angle)
    points = rotate.transform(points)
    stroke = stroke * size / 28
    factor = (scale * BOX * size - stroke) / (points.max(0) - points.min(0)).max()  # the stroke included
    place = rotate + Affine2D().scale(factor).translate(size / 2, size / 2)
    image = _draw(path, place, size, stroke)
    mass = image.sum()
    if mass > 0:  # centre of mass to the centre (as MNIST), then the jitter
        ys, xs = np.indices(image.shape)
        com_x, com_y = (xs * image).sum() / mass + 0.5, (ys * image).sum() / mass + 0.5
        dx, dy = size / 2 - com_x + shift[0] * size / 28, size / 2 - com_y + shift[1] * size / 28
        image = _draw(path, place + Affine2D().translate(dx, dy), size, stroke)
    return image


def render_typeset_digits(
    labels, size: int = 28, seed: int = 0, fonts: Sequence[str] | None = None
) -> np.ndarray:
    """uint8 `(N, size, size)` images of the digits `labels` (0-9), white on black like MNIST.

    The font (one of `fonts`, names in `FONT_FILES`; None: all), rotation, scale, shift and stroke width of
    image `i` come from `(seed, i)` only, so the same call returns the same pixels on every run.
    """
    choices = font_indices(fonts)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise InputError(f"digit labels must lie in 0..9, got {labels.min()}..{labels.max()}")
    if size < 8:
        raise InputError(f"size={size}: expected at least 8 pixels")
    out = np.empty((len(labels), size, size), dtype=np.uint8)
    for i, digit in enumerate(labels.tolist()):
        rng = np.random.default_rng([seed, i])  # per image: a prefix of the labels gives a prefix of images
        font = choices[int(rng.integers(len(choices)))]
        scale, angle, stroke = (
            rng.uniform(*SCALE),
            rng.uniform(-MAX_ROTATION, MAX_ROTATION),
            rng.uniform(*STROKE),
        )
        image = _render_one(font, digit, size, scale, angle, rng.uniform(-SHIFT, SHIFT, 2), stroke)
        out[i] = np.round(np.clip(image, 0, 1) * 255)
    return out
