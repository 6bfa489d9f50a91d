"""Images to every logger that stores them; imports no logger library that the run does not use."""

import torch
from lightning.pytorch.loggers import TensorBoardLogger


def log_image(loggers: list, key: str, image: torch.Tensor, step: int) -> None:
    """Send a `(C, H, W)` image in [0, 1] to every logger that stores images (TensorBoard, W&B)."""
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.experiment.add_image(key, image, global_step=step)
        elif type(logger).__name__ == "WandbLogger":  # no wandb import for CSV-only runs
            logger.log_image(key=key, images=[image], step=step)
