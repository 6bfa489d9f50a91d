"""Per-epoch grid of samples from a fixed noise batch: a PNG in the run and an image in each logger."""

from pathlib import Path

import lightning as L
import torch
from torchvision.utils import save_image

from flik_lab.images import unit_grid
from flik_lab.utils.errors import InputError
from flik_lab.utils.lightning_internals import logging_step
from flik_lab.utils.log_image import log_image


class SampleGrid(L.Callback):
    """Decode the same `num_samples` latent vectors after every training epoch."""

    def __init__(self, output_dir: str, num_samples: int = 64, nrow: int = 8, seed: int = 1234):
        self.output_dir = Path(output_dir)
        self.num_samples, self.nrow = num_samples, nrow
        self.noise: torch.Tensor | None = None  # drawn on fit start (or restored), kept in checkpoints
        self.seed = seed

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.noise is None or self.noise.shape[1] != pl_module.latent_dim:
            generator = torch.Generator().manual_seed(self.seed)
            self.noise = torch.randn(self.num_samples, pl_module.latent_dim, generator=generator)

    @torch.no_grad()
    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        was_training = pl_module.training
        pl_module.eval()
        images = pl_module(self.noise.to(pl_module.device)).float().cpu()
        pl_module.train(was_training)
        grid = unit_grid(images, self.nrow)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        save_image(grid, self.output_dir / f"epoch_{trainer.current_epoch:03d}.png")
        log_image(trainer.loggers, "samples", grid, step=logging_step(trainer))

    def state_dict(self) -> dict:
        return {} if self.noise is None else {"noise": self.noise}

    def load_state_dict(self, state_dict: dict) -> None:
        self.noise = state_dict.get("noise")

    @staticmethod
    def checked_state(state: dict) -> dict:
        """Stored noise is a finite float batch `(N, latent_dim)` (the checkpoint reader's check)."""
        noise = state.get("noise")
        if noise is not None and not (
            torch.is_tensor(noise)
            and noise.dim() == 2
            and noise.is_floating_point()
            and noise.isfinite().all()
        ):
            raise InputError("noise: expected a finite float tensor (samples, latent_dim)")
        return state
