"""`flik-lab latent interpolate ckpt_path=... steps=... pairs=...`: decode paths between latent points."""

import logging
from pathlib import Path

import torch
from omegaconf import DictConfig, ListConfig
from torchvision.utils import save_image

from flik_lab.commands.app import print_written, refuse_to_overwrite, run_command
from flik_lab.images import unit_grid, write_gif
from flik_lab.latent.gan_checkpoint import load_gan
from flik_lab.latent.interpolation import interpolate
from flik_lab.utils.errors import InputError
from flik_lab.utils.log_image import log_image_once

log = logging.getLogger(__name__)


def endpoints(cfg: DictConfig, latent_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Start and end latents `(P, d)`: seeded random pairs, or index pairs into a saved `latents` file."""
    if cfg.latents is None:
        if not isinstance(cfg.pairs, int) or cfg.pairs < 1:
            raise InputError(
                f"pairs={cfg.pairs}: without latents=, pairs is the number of random pairs (>= 1)"
            )
        z = torch.randn(2, cfg.pairs, latent_dim, generator=torch.Generator().manual_seed(cfg.seed))
        return z[0], z[1]
    path = Path(cfg.latents)
    if not path.is_file():
        raise FileNotFoundError(f"latents={path} does not exist; expected a .pt written by `flik-lab sample`")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise InputError(f"latents={path} is not a file written by `flik-lab sample` ({exc})") from None
    if not isinstance(saved, torch.Tensor) or saved.dim() != 2 or saved.shape[1] != latent_dim:
        raise InputError(f"latents={path} must hold a (N, {latent_dim}) tensor of latent vectors")
    if not saved.is_floating_point() or not saved.isfinite().all():
        raise InputError(f"latents={path} holds values that are not finite numbers")
    if not isinstance(cfg.pairs, ListConfig) or not all(len(p) == 2 for p in cfg.pairs):
        raise InputError(f"pairs={cfg.pairs}: with latents=, give index pairs, e.g. pairs=[[0,5],[3,7]]")
    index = torch.tensor([list(p) for p in cfg.pairs])
    if index.min() < 0 or index.max() >= len(saved):
        raise InputError(f"pairs={cfg.pairs} index outside the {len(saved)} vectors of latents={path}")
    return saved[index[:, 0]], saved[index[:, 1]]


@torch.no_grad()
def interpolate_latents(cfg: DictConfig) -> dict[str, Path]:
    """Write `interpolation_<method>.png` (a row per pair), the GIF and the paths' latents; returns paths."""
    out = Path(cfg.paths.output_dir)
    files = {k: out / f"interpolation_{cfg.method}.{k}" for k in ("png", "gif", "pt")}
    refuse_to_overwrite(*files.values())
    gan, _ = load_gan(cfg.ckpt_path, cfg.trusted_targets)
    start, end = endpoints(cfg, gan.latent_dim)
    paths = torch.stack([interpolate(a, b, cfg.steps, cfg.method) for a, b in zip(start, end, strict=True)])
    images = gan(paths.flatten(0, 1).to(gan.device)).unflatten(0, paths.shape[:2])  # (P, steps, C, H, W)

    out.mkdir(parents=True, exist_ok=True)
    grid = unit_grid(images.flatten(0, 1), nrow=cfg.steps)
    save_image(grid, files["png"])
    write_gif(
        [unit_grid(images[:, s], nrow=len(images)) for s in range(cfg.steps)], files["gif"], cfg.frame_ms
    )
    torch.save({"method": cfg.method, "latents": paths.cpu()}, files["pt"])
    log_image_once(cfg.logger, f"interpolation_{cfg.method}", grid)
    for path in files.values():
        log.info("wrote %s", path)
    return files


def run(cfg: DictConfig) -> None:
    print_written(interpolate_latents(cfg).values())


def main() -> None:
    run_command("latent_interpolate", run)


if __name__ == "__main__":
    main()
