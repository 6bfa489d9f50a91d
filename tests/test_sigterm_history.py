"""SIGTERM then resume equals the uninterrupted run in all a run leaves behind, not only in its weights:
metrics.csv, the sample grid of every epoch and the best checkpoint, wherever in an epoch the signal lands."""

import os
import signal

import lightning as L
import pandas as pd
import pytest
import torch

from flik_lab.callbacks.preemption import RunInterrupted
from flik_lab.training import train

from .helpers.config import compose_config

pytestmark = pytest.mark.slow

# 3 epochs of 3 training batches and 2 validation batches (the val/fid of an epoch needs both)
GAN = [
    "debug=tiny",
    "trainer.max_epochs=3",
    "trainer.limit_train_batches=3",
    "trainer.limit_val_batches=2",
    "data.eval_batch_size=100",
    "test=false",
    "seed=3",
]


class SigtermIn(L.Callback):
    """Sends this process SIGTERM while epoch `epoch` runs its training batch `batch`, or its validation
    batch `batch` when `validating`: from the batch's start hook, as a real signal lands in the step."""

    def __init__(self, epoch: int, batch: int, validating: bool = False):
        self.epoch, self.batch, self.validating = epoch, batch, validating

    def _send(self, trainer, batch_idx: int) -> None:
        if trainer.current_epoch == self.epoch and batch_idx == self.batch:
            os.kill(os.getpid(), signal.SIGTERM)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if not self.validating:
            self._send(trainer, batch_idx)

    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0) -> None:
        if self.validating and not trainer.sanity_checking:
            self._send(trainer, batch_idx)


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    run = tmp_path_factory.mktemp("straight")
    train(compose_config("train", run, GAN))
    return run


def _best(run) -> list[str]:
    return sorted(path.name for path in (run / "checkpoints").glob("epoch_*.ckpt"))


def _state(run) -> dict:
    return torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)


@pytest.mark.parametrize(
    "where",
    [
        pytest.param(SigtermIn(epoch=1, batch=1), id="mid_epoch"),
        pytest.param(SigtermIn(epoch=1, batch=2), id="last_batch"),
        pytest.param(SigtermIn(epoch=1, batch=0, validating=True), id="validation"),
    ],
)
def test_interrupted_and_resumed_leaves_what_the_straight_run_leaves(straight, where, tmp_path):
    with pytest.raises(RunInterrupted) as interrupted:
        train(compose_config("train", tmp_path, GAN), extra_callbacks=[where])
    assert (
        interrupted.value.code == 143
        and interrupted.value.checkpoint == tmp_path / "checkpoints" / "last.ckpt"
    )
    train(compose_config("train", tmp_path, [*GAN, "ckpt_path=last"]))  # a requeued job: same directory

    resumed, expected = _state(tmp_path), _state(straight)
    assert (resumed["epoch"], resumed["global_step"]) == (expected["epoch"], expected["global_step"])
    for key, value in expected["state_dict"].items():
        assert torch.equal(value, resumed["state_dict"][key]), f"{key} differs"

    # one history: every row of the straight run (the interrupted batch's too), each once, same values
    metrics = pd.read_csv(tmp_path / "csv" / "metrics.csv")
    pd.testing.assert_frame_equal(metrics, pd.read_csv(straight / "csv" / "metrics.csv"), rtol=1e-6)

    # a grid for every epoch, the same pixels: the generator's weights at each epoch end are the same
    grids = sorted(path.name for path in (straight / "samples").glob("*.png"))
    assert sorted(path.name for path in (tmp_path / "samples").glob("*.png")) == grids
    for name in grids:
        assert (tmp_path / "samples" / name).read_bytes() == (straight / "samples" / name).read_bytes(), name

    # every epoch's val/fid took part in choosing the best
    assert _best(tmp_path) == _best(straight)
    best = next(key for key in expected["callbacks"] if key.startswith("ModelCheckpoint"))
    assert resumed["callbacks"][best]["best_model_score"] == expected["callbacks"][best]["best_model_score"]
