"""One line per epoch with its metrics, in the console and in `train.log`, also without a terminal."""

import logging
import time

import lightning as L

log = logging.getLogger("flik_lab.progress")


def format_metrics(metrics: dict) -> str:
    """`name=value` pairs in name order, four significant digits."""
    return "  ".join(f"{name}={float(value):.4g}" for name, value in sorted(metrics.items()))


class EpochReport(L.Callback):
    """Logs `epoch 3/19  train/loss_d=0.61  val/fid=170.3  (11.8 s)` after each training epoch (rank 0).

    The progress bar keeps only the last epoch and prints nothing when stdout is not a terminal (a batch
    job, `nohup`, a sweep's log): this line is what a researcher follows there.
    """

    def __init__(self) -> None:
        self._started = time.perf_counter()

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._started = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero or trainer.sanity_checking:
            return
        # numbered from 0 to max_epochs - 1, as Lightning's progress bar and metrics.csv number them
        epochs = f"/{trainer.max_epochs - 1}" if trainer.max_epochs and trainer.max_epochs > 0 else ""
        seconds = time.perf_counter() - self._started
        metrics = format_metrics(trainer.callback_metrics)
        log.info("epoch %d%s  %s  (%.1f s)", trainer.current_epoch, epochs, metrics, seconds)
