"""Shared helpers: compose the real Hydra configs and train one tiny GAN for the whole session."""

import os
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module
from omegaconf import DictConfig

from flik_lab.utils.conf import CONF_MODULE
from flik_lab.utils.train_schema import register_schemas

os.environ.setdefault("WANDB_MODE", "offline")  # no W&B server here; tests read the run files
os.environ.setdefault("WANDB_SILENT", "true")
register_schemas()

# a few batches, no progress bars: fast and quiet on 2 CPU cores
QUICK = [
    "trainer.max_epochs=1",
    "trainer.log_every_n_steps=1",
    "+trainer.limit_train_batches=4",
    "+trainer.limit_val_batches=1",
    "+trainer.limit_test_batches=1",
    "+trainer.enable_progress_bar=false",
    "callbacks.progress_bar=null",
    "callbacks.model_summary=null",
]


def compose_config(name: str, output_dir: Path, overrides: list[str] = ()) -> DictConfig:
    """The composed config `name` (train, eval, sample) writing into `output_dir`."""
    with initialize_config_module(version_base="1.3", config_module=CONF_MODULE):
        return compose(config_name=name, overrides=[*overrides, f"paths.output_dir={output_dir}"])


@pytest.fixture(scope="session")
def trained_gan(tmp_path_factory) -> Path:
    """Run directory of a GAN trained for a few batches on the shipped digits (csv + tensorboard)."""
    from flik_lab.training import train

    out = tmp_path_factory.mktemp("gan_run")
    cfg = compose_config("train", out, [*QUICK, "logger=[csv,tensorboard]", "seed=0"])
    train(cfg)
    return out
