"""SIGTERM (what SLURM sends before preempting or requeueing a job): save the current step and stop."""

import logging
from pathlib import Path

import lightning as L
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities.exceptions import SIGTERMException

from flik_lab.utils.finish import INTERRUPTED_EXIT_CODE

log = logging.getLogger(__name__)


class RunInterrupted(SystemExit):
    """The run stopped on SIGTERM (exit code 143); `checkpoint` holds its last step, None if none was saved.

    A SystemExit like Lightning's SIGTERMException, so a sweep stops too, but never with exit code 0.
    """

    def __init__(self, checkpoint: Path | None):
        super().__init__(INTERRUPTED_EXIT_CODE)
        self.checkpoint = checkpoint


class Preemption(L.Callback):
    """On SIGTERM: stop after the current batch, write a resumable checkpoint of that step to `path`, and let
    the SIGTERMException end the run as interrupted (the command exits non-zero).

    Lightning alone checks for SIGTERM only at the end of an epoch on one process, then exits 0 without a
    checkpoint; under DDP it stops every rank before the next batch, as this does on one process.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.saved: Path | None = None

    def on_train_batch_end(self, trainer: L.Trainer, *args) -> None:
        if trainer.received_sigterm and trainer.world_size == 1:
            raise SIGTERMException()

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        if not isinstance(exception, SIGTERMException) or trainer.state.fn != TrainerFn.FITTING:
            return
        if trainer.sanity_checking or trainer.fast_dev_run:
            return
        trainer.save_checkpoint(self.path)
        self.saved = self.path
        log.warning(
            "interrupted by SIGTERM at epoch %d, global step %d; checkpoint of this step: %s "
            "(resume with ckpt_path=%s)",
            trainer.current_epoch,
            trainer.global_step,
            self.path,
            self.path,
        )
