"""`checkpoints/last.ckpt`: the newest state, written after every epoch (resume from it)."""

from lightning.pytorch.callbacks import ModelCheckpoint


class LastCheckpoint(ModelCheckpoint):
    """Replaces `<dirpath>/last.ckpt` after every epoch.

    Lightning 2.6's `save_last=True` writes `last.ckpt` only in epochs that save a new best by the monitored
    metric, so resuming from it re-trained epochs. As its own class this callback also keeps its state apart
    from a `ModelCheckpoint` that monitors nothing (Lightning refuses two with the same state key).
    """

    def __init__(self, dirpath: str):
        super().__init__(
            dirpath=dirpath, filename="last", monitor=None, save_top_k=1, enable_version_counter=False
        )

    @property
    def best_model_path(self) -> str:
        """Always empty: `last.ckpt` is the newest state, never a best one, so W&B's `best` alias stays with
        the monitored checkpoint; what ModelCheckpoint records as best is kept as the last path."""
        return ""

    @best_model_path.setter
    def best_model_path(self, path: str) -> None:
        if path:
            self.last_model_path = path
