"""`flik-lab sample ckpt_path=... num_samples=N output=x.png|x.npz`: draw images from a trained GAN."""

import logging
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig
from torchvision.utils import save_image

from flik_lab.commands.app import print_written, refuse_to_overwrite, run_command
from flik_lab.images import to_uint8, unit_grid
from flik_lab.latent.gan_checkpoint import load_gan
from flik_lab.utils.errors import InputError

log = logging.getLogger(__name__)


def sample(cfg: DictConfig) -> list[Path]:
    """Write a PNG grid of `num_samples` images, their latent vectors (`.latents.pt`) and, for `.npz`, the
    raw uint8 array; returns the paths."""
    if cfg.num_samples < 1:
        raise InputError(f"num_samples must be at least 1, got {cfg.num_samples}")
    if cfg.nrow is not None and cfg.nrow < 1:
        raise InputError(f"nrow={cfg.nrow}: expected images a row (1 or more), or null for a square grid")
    output = Path(cfg.output).expanduser()
    if output.suffix not in (".png", ".npz"):
        raise InputError(f"output={cfg.output} must end in .png or .npz")
    latents_file = output.with_suffix(".latents.pt")  # reusable by `flik-lab latent interpolate latents=`
    targets = [output.with_suffix(".png"), latents_file] + ([output] if output.suffix == ".npz" else [])
    refuse_to_overwrite(*targets, hint="choose another output=")

    model, _ = load_gan(cfg.ckpt_path, cfg.trusted_targets)  # a text classifier: a clear error
    generator = torch.Generator().manual_seed(cfg.seed if cfg.seed is not None else 0)
    latents = model.noise(cfg.num_samples, generator=generator)
    with torch.no_grad():
        images = model(latents)
    output.parent.mkdir(parents=True, exist_ok=True)
    save_image(unit_grid(images, cfg.nrow), targets[0])
    torch.save(latents.cpu(), latents_file)
    if output.suffix == ".npz":
        np.savez_compressed(output, samples=to_uint8(images))
    for path in targets:
        log.info("wrote %s", path)
    return targets


def run(cfg: DictConfig) -> None:
    print_written(sample(cfg))


def main() -> None:
    run_command("sample", run)


if __name__ == "__main__":
    main()
