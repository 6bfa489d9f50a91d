"""The Lightning internals flik-lab reads or sets, in one place, because Lightning 2.6 has no public API
for them; `tests/test_lightning_internals.py` pins each to the installed version.

Two modules go further by design and say so: `utils/ddp_relaunch.py` replaces the command Lightning
re-runs for DDP ranks, and `loggers/csv.py` extends Lightning's CSV writer.
"""

from pathlib import Path

import lightning as L
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.strategies import DDPStrategy
from lightning.pytorch.strategies.launchers.multiprocessing import _MultiProcessingLauncher


def logging_step(trainer: L.Trainer) -> int:
    """The step Lightning writes metrics at: batches that stepped (`global_step` counts optimizer steps,
    two per batch for a GAN), so images logged at it line up with the scalars."""
    return trainer.fit_loop.epoch_loop._batches_that_stepped


def logs_this_batch(trainer: L.Trainer) -> bool:
    """Whether Lightning writes step metrics after the current training batch (every `log_every_n_steps`
    batches): valid from `on_train_batch_start` to `on_train_batch_end`."""
    return trainer._logger_connector.should_update_logs or bool(trainer.fast_dev_run)


def set_received_sigterm(trainer: L.Trainer, received: bool) -> None:
    """Raise or lower the flag Lightning's loops stop on (`trainer.received_sigterm`, set by its handler)."""
    trainer._signal_connector.received_sigterm = received


def batches_trained_this_epoch(trainer: L.Trainer | None) -> int:
    """How many batches of the current epoch a run resumed mid-epoch has already trained (0 otherwise).

    Lightning restores this count from a mid-epoch checkpoint but replays the data from the start unless
    the loader skips it; valid once the fit loop has reset, i.e. when the first batch is drawn.
    """
    if trainer is None or not trainer.training:
        return 0
    loop = trainer.fit_loop
    if not loop.restarted_mid_epoch or loop.epoch_loop.batch_progress.is_last_batch:
        return 0
    return loop.epoch_loop.batch_progress.current.completed


def find_unused_parameters(strategy: L.pytorch.strategies.Strategy) -> None:
    """Make a DDP strategy search for unused parameters; only effective before the model is wrapped."""
    if isinstance(strategy, DDPStrategy):
        strategy._ddp_kwargs["find_unused_parameters"] = True


def reads_back_spawned_weights(strategy: L.pytorch.strategies.Strategy, path: object) -> bool:
    """Whether `strategy` loads `path` as the weights its spawned rank 0 wrote for the main process
    (`_MultiProcessingLauncher._recover_results_in_main_process`: a bare state_dict named `.temp.ckpt`)."""
    launcher = strategy.launcher
    return isinstance(launcher, _MultiProcessingLauncher) and Path(str(path)).name == ".temp.ckpt"


def without_anonymous_setting(logger: WandbLogger) -> WandbLogger:
    """`logger`, no longer passing `anonymous=None` to `wandb.init`: wandb >= 0.19 warns on every run that the
    setting has no effect, whatever its value."""
    if logger._wandb_init.get("anonymous") is None:
        logger._wandb_init.pop("anonymous", None)
    return logger
