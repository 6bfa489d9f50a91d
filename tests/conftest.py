"""Fixtures and hooks: W&B offline, the schemas registered, one tiny GAN trained per session, `gpu` skipped
without CUDA. What tests share besides fixtures is in `tests/helpers/`."""

import os
from pathlib import Path

import pytest
import torch

from flik_lab.utils.train_schema import register_schemas

from .helpers.config import compose_config

os.environ.setdefault("WANDB_MODE", "offline")  # no W&B server here; tests read the run files
os.environ.setdefault("WANDB_SILENT", "true")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs one worker per core: each worker, and the runs it starts, on one thread
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
register_schemas()


def pytest_collection_modifyitems(config, items) -> None:
    """Tests marked `gpu` are skipped where CUDA is not available."""
    no_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
    for item in items:
        if item.get_closest_marker("gpu"):
            item.add_marker(no_gpu)


@pytest.fixture(scope="session")
def trained_gan(tmp_path_factory) -> Path:
    """Run directory of a GAN trained with `debug=tiny` on the shipped digits (csv + tensorboard logs)."""
    from flik_lab.training import train

    out = tmp_path_factory.mktemp("gan_run")
    train(compose_config("train", out, ["debug=tiny", "logger=[csv,tensorboard]", "seed=0"]))
    return out
