"""Store the run's model and data configs inside each checkpoint, so eval/sample can rebuild them."""

import lightning as L
from lightning.pytorch.loggers import WandbLogger  # imports no wandb


class ConfigInCheckpoint(L.Callback):
    """Adds `checkpoint["flik_lab"] = {"model": ..., "data": ..., "wandb_run_id": ...}` (plain containers)."""

    def __init__(self, model: dict, data: dict):
        self.config = {"model": model, "data": data}

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        checkpoint["flik_lab"] = dict(self.config)
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):  # resuming continues this W&B run
                checkpoint["flik_lab"]["wandb_run_id"] = logger.version
