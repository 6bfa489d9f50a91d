"""Training as a library function: validate the config, build everything, fit, test, return the metrics.

`flik-lab train` (commands/train.py) runs it once per Hydra job; `flik-lab tune` once per trial.
"""

import logging
import time
from pathlib import Path

import lightning as L
from lightning.pytorch.utilities.exceptions import SIGTERMException
from lightning.pytorch.utilities.rank_zero import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from flik_lab.callbacks.config_in_checkpoint import ConfigInCheckpoint
from flik_lab.callbacks.divergence import StopOnDivergence
from flik_lab.callbacks.preemption import Preemption, RunInterrupted
from flik_lab.callbacks.random_state import RandomStateInCheckpoint
from flik_lab.models.connect import connect
from flik_lab.run_summary import hparams_with_best, monitored_checkpoint, run_summary
from flik_lab.utils.checkpoint import read_checkpoint
from flik_lab.utils.config_schema import validate_config
from flik_lab.utils.ddp_relaunch import end_other_ranks
from flik_lab.utils.instantiate import instantiate_group, instantiate_node
from flik_lab.utils.resume import resume_path
from flik_lab.utils.resume_gate import gate_checkpoints
from flik_lab.utils.stored_config import targets_to_trust

log = logging.getLogger(__name__)


def refuse_to_overwrite_checkpoints(output_dir: Path, resuming: bool) -> None:
    """A run directory that already holds checkpoints is only reused to resume from one of them."""
    checkpoints = output_dir / "checkpoints"
    if not resuming and checkpoints.is_dir() and any(checkpoints.glob("*.ckpt")):
        raise FileExistsError(
            f"{checkpoints} already holds checkpoints; choose a new run directory or resume with "
            "ckpt_path=<one of them>"
        )


def best_checkpoint(trainer: L.Trainer) -> str | None:
    """The best checkpoint by the monitored metric (None when nothing is monitored or saved)."""
    best = monitored_checkpoint(trainer)
    return (best.best_model_path or None) if best is not None else None


def every_run_callbacks(resolved: dict, preemption: Preemption) -> list[L.Callback]:
    """The callbacks of every run, after the configured ones."""
    return [
        ConfigInCheckpoint(resolved["model"], resolved["data"]),  # eval/sample rebuild the model from it
        RandomStateInCheckpoint(),  # exact resume
        StopOnDivergence(),  # NaN/inf metrics or weights, |w| > 1e6: stop before saving that state
        preemption,
    ]


def train(cfg: DictConfig, extra_callbacks: list[L.Callback] | None = None) -> dict[str, float]:
    """Fit `cfg.model` on `cfg.data`; returns the final metrics (validation, then test).
    `extra_callbacks` (objects, e.g. `flik-lab tune`'s pruning reporter) join the configured ones."""
    validate_config(cfg)  # also here, not only in the command: `tune` composes each trial's config itself
    output_dir = Path(cfg.paths.output_dir)
    ckpt_path = resume_path(cfg.ckpt_path, output_dir)  # `last`: this directory's newest, if any
    if ckpt_path is not None:
        read_checkpoint(ckpt_path)  # missing, corrupt or crafted: fail now; resume reads it through the gate
    refuse_to_overwrite_checkpoints(output_dir, resuming=ckpt_path is not None)
    if cfg.seed is not None:  # on resume the checkpoint's random state replaces this at the first batch
        L.seed_everything(cfg.seed, workers=True)

    datamodule: L.LightningDataModule = instantiate_node(cfg.data, "data")
    model: L.LightningModule = instantiate_node(cfg.model, "model")
    connect(model, datamodule)
    callbacks = instantiate_group(cfg.callbacks, "callbacks")
    resolved = OmegaConf.to_container(cfg, resolve=True)
    if rank_zero_only.rank == 0:  # DDP ranks > 0 share rank 0's run directory
        output_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(resolved, output_dir / "config.yaml")  # .hydra/ keeps ${...}
    preemption = Preemption(output_dir / "checkpoints" / "last.ckpt")  # SIGTERM: save this step, stop
    callbacks += [*every_run_callbacks(resolved, preemption), *(extra_callbacks or [])]
    loggers = instantiate_group(cfg.logger, "logger")
    trainer: L.Trainer = instantiate_node(cfg.trainer, "trainer", callbacks=callbacks, logger=loggers)
    gate_checkpoints(trainer, output_dir)  # every checkpoint it reads is checked, none outside it deleted
    for logger in loggers:
        logger.log_hyperparams(resolved)  # nested for W&B; CSV/TensorBoard flatten it themselves

    failed, started = True, time.perf_counter()
    try:
        trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
        tested = best_checkpoint(trainer) if cfg.test else None
        if cfg.test:  # the best checkpoint; the current weights when none was written (fast_dev_run)
            # verbose=False: the run's summary lists the same metrics, without a table per run of a sweep
            trainer.test(model, datamodule=datamodule, ckpt_path=tested, weights_only=True, verbose=False)
            metrics.update({k: float(v) for k, v in trainer.callback_metrics.items()})
        failed = False
    except SIGTERMException as exc:  # a SystemExit with code 0: the run would look finished
        raise RunInterrupted(preemption.saved) from exc
    finally:
        end_other_ranks(trainer, failed)  # a sweep goes on with the next job, also after a failed one
    if trainer.is_global_zero:
        hparams_with_best(trainer, resolved)
        trust = targets_to_trust(resolved["model"], resolved["data"])
        seconds = time.perf_counter() - started
        log.info("%s", run_summary(trainer, output_dir, metrics, seconds, tested, trust))
    return metrics
