"""Lightning's checkpoint reads and deletions pass the checkpoint reader and stay inside the run."""

import logging
from pathlib import Path
from typing import Any

import lightning as L
from lightning.fabric.plugins.io import CheckpointIO

from flik_lab.utils.checkpoint import read_checkpoint, read_weights
from flik_lab.utils.lightning_internals import reads_back_spawned_weights

log = logging.getLogger(__name__)


class GatedCheckpointIO(CheckpointIO):
    """Wraps the trainer's CheckpointIO: a resume (or `test(ckpt_path=...)`) loads only what
    `Checkpoint.for_resume` checked, and a checkpoint file is deleted only inside `checkpoint_dirs`."""

    def __init__(self, inner: CheckpointIO, trainer: L.Trainer, checkpoint_dirs: list[Path]):
        self.inner, self.trainer = inner, trainer
        self.transfers: set[Path] = set()  # weights files of rank 0 that the main process read back
        self.checkpoint_dirs = [Path(d).resolve() for d in checkpoint_dirs]

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        self.inner.save_checkpoint(checkpoint, path, storage_options)

    def load_checkpoint(self, path: Any, map_location: Any = None, weights_only: bool | None = None) -> dict:
        if reads_back_spawned_weights(self.trainer.strategy, path):
            self.transfers.add(Path(path).resolve())
            return read_weights(path, self.trainer.lightning_module)
        return read_checkpoint(path).for_resume(self.trainer, self.checkpoint_dirs)

    def remove_checkpoint(self, path: Any) -> None:
        local = isinstance(path, str | Path) and "://" not in str(path) and "::" not in str(path)
        if local and Path(path).resolve() in self.transfers:
            self.inner.remove_checkpoint(path)
            return
        if not local or Path(path).resolve().parent not in self.checkpoint_dirs:
            log.warning("not deleting %r: not a checkpoint file of this run", path)
            return
        self.inner.remove_checkpoint(path)

    def teardown(self) -> None:
        self.inner.teardown()


def gate_checkpoints(trainer: L.Trainer, output_dir: Path) -> None:
    """Route the trainer's checkpoint reads and deletions through `GatedCheckpointIO`."""
    dirs = {output_dir / "checkpoints"}
    dirs |= {Path(c.dirpath) for c in trainer.checkpoint_callbacks if getattr(c, "dirpath", None)}
    trainer.strategy.checkpoint_io = GatedCheckpointIO(trainer.strategy.checkpoint_io, trainer, sorted(dirs))
