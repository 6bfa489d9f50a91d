"""`flik-lab train`: compose the config, validate it, build everything, fit, test, report."""

import logging
from pathlib import Path

import hydra
import lightning as L
from lightning.pytorch.utilities.rank_zero import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from flik_lab.callbacks.config_in_checkpoint import ConfigInCheckpoint
from flik_lab.utils.conf_dir import CONF_DIR
from flik_lab.utils.config_schema import validate_config
from flik_lab.utils.ddp_relaunch import end_other_ranks, relaunch_ranks_as_this_job
from flik_lab.utils.finish import finished_runs
from flik_lab.utils.instantiate import instantiate_group
from flik_lab.utils.train_schema import register_schemas

log = logging.getLogger(__name__)
register_schemas()
relaunch_ranks_as_this_job("flik_lab.train")


def refuse_to_overwrite(output_dir: Path, resuming: bool) -> None:
    """A run directory that already holds checkpoints is only reused to resume from one of them."""
    checkpoints = output_dir / "checkpoints"
    if not resuming and checkpoints.is_dir() and any(checkpoints.iterdir()):
        raise FileExistsError(
            f"{checkpoints} already holds checkpoints; choose a new run directory or resume with "
            "ckpt_path=<one of them>"
        )


def train(cfg: DictConfig, extra_callbacks: list[L.Callback] | None = None) -> dict[str, float]:
    """Fit `cfg.model` on `cfg.data`; returns the final metrics (validation, then test).
    `extra_callbacks` (objects, e.g. `flik-lab tune`'s pruning reporter) join the configured ones."""
    validate_config(cfg)  # a typo or a wrong type fails here, before any data or model is built
    refuse_to_overwrite(Path(cfg.paths.output_dir), resuming=cfg.ckpt_path is not None)
    if cfg.seed is not None:
        L.seed_everything(cfg.seed, workers=True)

    datamodule: L.LightningDataModule = hydra.utils.instantiate(cfg.data)
    model: L.LightningModule = hydra.utils.instantiate(cfg.model)
    callbacks = instantiate_group(cfg.callbacks)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    if rank_zero_only.rank == 0:  # DDP ranks > 0 share rank 0's run directory
        Path(cfg.paths.output_dir).mkdir(parents=True, exist_ok=True)
        OmegaConf.save(resolved, Path(cfg.paths.output_dir) / "config.yaml")  # .hydra/ keeps ${...}
    callbacks.append(ConfigInCheckpoint(resolved["model"], resolved["data"]))
    callbacks.extend(extra_callbacks or [])
    loggers = instantiate_group(cfg.logger)
    trainer: L.Trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=loggers)
    for logger in loggers:
        logger.log_hyperparams(resolved)  # nested for W&B; CSV/TensorBoard flatten it themselves

    failed = True
    try:
        trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.ckpt_path)
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
        if cfg.test and not trainer.fast_dev_run:
            best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
            trainer.test(model, datamodule=datamodule, ckpt_path=best or None, weights_only=True)
            metrics.update({k: float(v) for k, v in trainer.callback_metrics.items()})
        failed = False
    finally:
        end_other_ranks(trainer, failed)  # a sweep goes on with the next job, also after a failed one
    log.info("run directory: %s", cfg.paths.output_dir)
    return metrics


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="train")
def main(cfg: DictConfig) -> None:
    with finished_runs():
        train(cfg)
    print(f"flik-lab: run written to {cfg.paths.output_dir}")


if __name__ == "__main__":
    main()
