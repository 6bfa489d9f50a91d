"""SIGTERM (what SLURM sends before preempting or requeueing a job): save the current step and stop."""

import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import lightning as L
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities.exceptions import SIGTERMException

from flik_lab.utils.finish import INTERRUPTED_EXIT_CODE
from flik_lab.utils.lightning_internals import set_received_sigterm

log = logging.getLogger(__name__)


class RunInterrupted(SystemExit):
    """The run stopped on SIGTERM (exit code 143); `checkpoint` holds its last step, None if none was saved.

    A SystemExit like Lightning's SIGTERMException, so a sweep stops too, but never with exit code 0.
    """

    def __init__(self, checkpoint: Path | None):
        super().__init__(INTERRUPTED_EXIT_CODE)
        self.checkpoint = checkpoint


class Preemption(L.Callback):
    """On SIGTERM: finish the step in progress, write a resumable checkpoint of it to `path`, and let the
    SIGTERMException end the run as interrupted (the command exits non-zero).

    Lightning stops after the training batch the signal lands in, once that batch's metrics are logged, and
    after an epoch's last batch only once its validation and epoch-end hooks (metrics, sample grid, best
    and last checkpoints) have run: the resumed run then starts where the uninterrupted one went on, and
    its history, images and best checkpoint are the uninterrupted run's. Lightning alone exits 0 without a
    checkpoint, and stops a validation after any of its batches but the last; the resumed run would skip
    the rest, and an epoch's `val/*` depends on all of them (FID), so during a validation the signal is held
    until the validation ends.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.saved: Path | None = None
        self._holding = False  # a validation of this fit runs, with `_hold` as the SIGTERM handler
        self._flag_was_up = False  # the signal came in the training batch before it
        self._arrived: tuple[int, FrameType | None] | None = None  # a signal during it
        self._lightning_handler: Callable | int | None = None

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        fitting = trainer.state.fn == TrainerFn.FITTING and not trainer.sanity_checking
        # signal handlers can only change on the main thread; under DDP each rank stops as Lightning decides
        main_thread = threading.current_thread() is threading.main_thread()
        if not (fitting and main_thread and trainer.world_size == 1):
            return
        self._holding, self._arrived = True, None
        self._lightning_handler = signal.signal(signal.SIGTERM, self._hold)
        self._flag_was_up = trainer.received_sigterm
        set_received_sigterm(trainer, False)

    def _hold(self, signum: int, frame: FrameType | None) -> None:
        self._arrived = self._arrived or (signum, frame)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self._holding:
            return
        self._holding = False
        handler = self._lightning_handler
        signal.signal(signal.SIGTERM, handler if handler is not None else signal.SIG_DFL)
        if self._arrived is not None:
            log.info("SIGTERM received during validation: passed on now that the validation has ended")
            if callable(handler):  # Lightning's handler, and those chained to it, see the signal now
                handler(*self._arrived)
        if self._flag_was_up or self._arrived is not None:
            # Lightning stops where it looks next: after this batch, or after this epoch's end
            set_received_sigterm(trainer, True)

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
