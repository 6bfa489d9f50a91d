"""Per-epoch grid of fixed test images, translated and translated back, in both directions."""

from pathlib import Path

import lightning as L
import torch
from torchvision.utils import save_image

from flik_lab.images import unit_grid
from flik_lab.models.connect import trainer_data
from flik_lab.models.contracts import UnpairedImageData
from flik_lab.utils.lightning_internals import logging_step
from flik_lab.utils.log_image import log_image


@torch.no_grad()
def cycle_rows(module: L.LightningModule, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Six rows of images: A | G(A) | F(G(A)), then B | F(B) | G(F(B))."""
    was_training = module.training
    module.eval()
    fake_b = module(a, direction="a2b")
    fake_a = module(b, direction="b2a")
    rows = [a, fake_b, module(fake_b, direction="b2a"), b, fake_a, module(fake_a, direction="a2b")]
    module.train(was_training)
    return torch.cat(rows).float().cpu()


class TranslationGrid(L.Callback):
    """After every training epoch: `num_images` fixed test images of each domain, each with its translation
    and its reconstruction (rows: A, A->B, A->B->A, B, B->A, B->A->B)."""

    def __init__(self, output_dir: str, num_images: int = 8):
        self.output_dir = Path(output_dir)
        self.num_images = num_images

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        a, b = trainer_data(trainer, UnpairedImageData, self).fixed_test_images(self.num_images)
        grid = unit_grid(cycle_rows(pl_module, a.to(pl_module.device), b.to(pl_module.device)), len(a))
        self.output_dir.mkdir(parents=True, exist_ok=True)
        save_image(grid, self.output_dir / f"epoch_{trainer.current_epoch:03d}.png")
        log_image(trainer.loggers, "translations", grid, step=logging_step(trainer))
