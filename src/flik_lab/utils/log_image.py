"""Images to every logger that stores them; imports no logger library that the run does not use."""

import torch
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig

from flik_lab.utils.finish import finished_runs
from flik_lab.utils.instantiate import instantiate_group


def log_image(loggers: list, key: str, image: torch.Tensor, step: int) -> None:
    """Send a `(C, H, W)` image in [0, 1] to every logger that stores images (TensorBoard, W&B)."""
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.experiment.add_image(key, image, global_step=step)
        elif type(logger).__name__ == "WandbLogger":  # no wandb import for CSV-only runs
            logger.log_image(key=key, images=[image], step=step)


def log_image_once(logger_group: DictConfig | None, key: str, image: torch.Tensor) -> None:
    """For commands without a Trainer: build the configured loggers, log one image, close them."""
    with finished_runs():
        loggers = instantiate_group(logger_group)
        log_image(loggers, key, image, step=0)
        for logger in loggers:
            logger.finalize("success")
