"""Store the run's model and data configs inside each checkpoint, so eval/sample can rebuild them."""

import lightning as L


class ConfigInCheckpoint(L.Callback):
    """Adds `checkpoint["flik_lab"] = {"model": ..., "data": ...}` (plain containers)."""

    def __init__(self, model: dict, data: dict):
        self.config = {"model": model, "data": data}

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        checkpoint["flik_lab"] = self.config
