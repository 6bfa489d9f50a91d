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


# module fixtures that train several runs: every test that uses one is slow
SLOW_FIXTURES = {"ckpts"}


def pytest_collection_modifyitems(config, items) -> None:
    """Tests marked `gpu` are skipped where CUDA is not available; tests of slow fixtures are marked slow."""
    no_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
    for item in items:
        if item.get_closest_marker("gpu"):
            item.add_marker(no_gpu)
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors on a shared 2-core machine: more threads only contend (up to 15x slower measured)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def trained_gan(tmp_path_factory) -> Path:
    """Run directory of a GAN trained with `debug=tiny` on the shipped digits (csv + tensorboard logs)."""
    from flik_lab.training import train

    out = tmp_path_factory.mktemp("gan_run")
    train(compose_config("train", out, ["debug=tiny", "logger=[csv,tensorboard]", "seed=0"]))
    return out
