"""`flik-lab eval ckpt_path=...`: test metrics of a trained checkpoint (FID for GANs)."""

import json
import logging
from pathlib import Path

import hydra
import lightning as L
from omegaconf import DictConfig

from flik_lab.commands.app import run_command
from flik_lab.utils.checkpoint import load_checkpoint, model_from_checkpoint
from flik_lab.utils.instantiate import instantiate_group
from flik_lab.utils.stored_config import stored_config

log = logging.getLogger(__name__)


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Test the checkpoint on `cfg.data`, or on the data it was trained with; returns the metrics."""
    ckpt = load_checkpoint(cfg.ckpt_path)
    if cfg.seed is not None:
        L.seed_everything(cfg.seed, workers=True)
    source = f"ckpt_path={cfg.ckpt_path}"
    # both stored configs are checked before anything is built; `data=` on the command line is trusted
    data_cfg = cfg.data if cfg.data is not None else stored_config(ckpt, "data", source, cfg.trusted_targets)
    model = model_from_checkpoint(ckpt, source, cfg.trusted_targets)
    datamodule: L.LightningDataModule = hydra.utils.instantiate(data_cfg)
    loggers = instantiate_group(cfg.logger)
    callbacks = instantiate_group(cfg.callbacks, "callbacks")
    trainer: L.Trainer = hydra.utils.instantiate(cfg.trainer, logger=loggers, callbacks=callbacks)
    trainer.test(model, datamodule=datamodule)
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
    out = Path(cfg.paths.output_dir) / "metrics.json"
    out.write_text(json.dumps({"ckpt_path": str(cfg.ckpt_path), **metrics}, indent=2))
    log.info("test metrics written to %s", out)
    return metrics


def run(cfg: DictConfig) -> None:
    evaluate(cfg)


def main() -> None:
    run_command("eval", run)


if __name__ == "__main__":
    main()
