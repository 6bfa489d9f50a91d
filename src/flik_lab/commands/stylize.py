"""`flik-lab stylize ckpt_path=... input=<image|folder> direction=a2b|b2a`: unpaired image translation."""

from pathlib import Path

import torch
from omegaconf import DictConfig
from torchvision.transforms import functional as TF
from torchvision.utils import save_image

from flik_lab.commands.app import print_written, refuse_to_overwrite, run_command
from flik_lab.data.unpaired import UnpairedImageDataModule
from flik_lab.images import read_image, to_unit_interval, unit_grid
from flik_lab.models.cyclegan import CycleGAN
from flik_lab.utils.checkpoint import read_checkpoint
from flik_lab.utils.errors import InputError

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
DIRECTIONS = ("a2b", "b2a")


def input_images(path: Path) -> list[Path]:
    """The image file `path`, or the image files directly inside the folder `path`, sorted by name."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"input={path} does not exist; expected an image file or a folder of images")
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
    if not files:
        raise FileNotFoundError(f"input={path} holds no images ({', '.join(SUFFIXES)})")
    return files


def load_image(path: Path, channels: int, size: int) -> torch.Tensor:
    """`(C, size, size)` in [-1, 1]: grey or RGB as trained, the shorter side resized, centre-cropped."""
    image = read_image(path, "L" if channels == 1 else "RGB", key="input")
    tensor = TF.center_crop(TF.resize(TF.to_tensor(image), size, antialias=True), size)
    return tensor * 2 - 1


def stylize(cfg: DictConfig) -> list[Path]:
    """Translate every input image with the checkpoint's generator for `cfg.direction`; returns the paths."""
    if cfg.direction not in DIRECTIONS:
        raise InputError(f"direction={cfg.direction!r}: expected one of {', '.join(DIRECTIONS)}")
    if cfg.batch_size < 1:
        raise InputError(f"batch_size={cfg.batch_size}: expected a positive integer")
    files = input_images(Path(cfg.input).expanduser())
    output, grid = Path(cfg.output).expanduser(), Path(cfg.grid).expanduser()
    targets = [output / f"{file.stem}.png" for file in files]
    if len({t.name for t in targets}) < len(targets):
        raise InputError(f"input={cfg.input} holds images whose names differ only by suffix")
    refuse_to_overwrite(grid, *targets, hint="choose another output= / grid=")

    ckpt = read_checkpoint(cfg.ckpt_path)
    model = ckpt.model(cfg.trusted_targets, CycleGAN)
    state = ckpt.data_state(UnpairedImageDataModule)
    images = torch.stack([load_image(f, state["channels"], state["image_size"]) for f in files])
    with torch.no_grad():
        translated = torch.cat(
            [
                model(images[i : i + cfg.batch_size], direction=cfg.direction)
                for i in range(0, len(images), cfg.batch_size)
            ]
        )
    output.mkdir(parents=True, exist_ok=True)
    for image, target in zip(translated, targets, strict=True):
        save_image(to_unit_interval(image), target)
    nrow = min(len(files), 8)
    blank = torch.full_like(images[:1], -1.0)
    rows = []
    for i in range(0, len(files), nrow):  # each input above its translation; a short last row padded black
        pad = [blank] * (nrow - len(images[i : i + nrow]))
        rows += [images[i : i + nrow], *pad, translated[i : i + nrow], *pad]
    grid.parent.mkdir(parents=True, exist_ok=True)
    save_image(unit_grid(torch.cat(rows), nrow), grid)
    return [*targets, grid]


def run(cfg: DictConfig) -> None:
    print_written(stylize(cfg))


def main() -> None:
    run_command("stylize", run)


if __name__ == "__main__":
    main()
