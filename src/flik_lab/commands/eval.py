"""`flik-lab eval ckpt_path=...`: test metrics of a trained checkpoint (FID for GANs)."""

import json
import logging
from pathlib import Path

import lightning as L
from hydra.utils import get_object
from omegaconf import DictConfig

from flik_lab.commands.app import run_command
from flik_lab.models.connect import connect
from flik_lab.utils.checkpoint import read_checkpoint
from flik_lab.utils.config_schema import check_data_fits
from flik_lab.utils.instantiate import instantiate_group, instantiate_node

log = logging.getLogger(__name__)


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Test the checkpoint on `cfg.data`, or on the data it was trained with; returns the metrics."""
    ckpt = read_checkpoint(cfg.ckpt_path)
    if cfg.seed is not None:
        L.seed_everything(cfg.seed, workers=True)
    # both stored configs are checked before anything is built; `data=` on the command line is the user's
    model_cfg = ckpt.model_config(cfg.trusted_targets)
    if cfg.data is None:
        data_cfg = ckpt.data_config(cfg.trusted_targets, data_dir=cfg.paths.data_dir)
    else:
        data_cfg = cfg.data
        check_data_fits(get_object(model_cfg._target_), get_object(data_cfg._target_), "data")
    model = ckpt.model(cfg.trusted_targets)
    datamodule: L.LightningDataModule = instantiate_node(data_cfg, "data")
    connect(model, datamodule)
    loggers = instantiate_group(cfg.logger)
    callbacks = instantiate_group(cfg.callbacks, "callbacks")
    trainer: L.Trainer = instantiate_node(cfg.trainer, "trainer", logger=loggers, callbacks=callbacks)
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
