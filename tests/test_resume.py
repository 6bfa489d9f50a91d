"""Exact resume: N epochs straight equal N/2 epochs + resume (same or new directory, epoch end or SIGTERM
in the middle of an epoch), bit for bit on CPU; `last.ckpt` is always the newest state."""

import os
import signal

import lightning as L
import pandas as pd
import pytest
import torch

from flik_lab.callbacks.preemption import RunInterrupted
from flik_lab.training import train

from .helpers.config import compose_config
from .helpers.text import small_lstm, write_reviews
from .helpers.wandb_files import run_records

pytestmark = pytest.mark.slow

# 3 training batches an epoch: a SIGTERM after the 5th batch falls in the middle of epoch 1
GAN = ["debug=tiny", "trainer.limit_train_batches=3", "test=false", "seed=3"]


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("imdb")
    write_reviews(data_dir, 240, 40, median_words=20)
    return data_dir


def _text(data_dir) -> list[str]:
    """A small LSTM with dropout (random masks every step) on generated reviews."""
    return [*GAN, *small_lstm(data_dir, 40), "data.batch_size=16", "data.vocab_size=300", "model.dropout=0.3"]


def _logged(run, metric: str) -> list[tuple[int, float]]:
    metrics = pd.read_csv(run / "csv" / "metrics.csv").dropna(subset=[metric])
    return list(zip(metrics["step"], metrics[metric], strict=True))


def _state(run, name="last.ckpt") -> dict:
    return torch.load(run / "checkpoints" / name, weights_only=True)


def _assert_same_training_state(a: dict, b: dict) -> None:
    assert (a["epoch"], a["global_step"]) == (b["epoch"], b["global_step"])
    assert a["state_dict"].keys() == b["state_dict"].keys()
    for key, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][key]), f"{key} differs"
    for opt_a, opt_b in zip(a["optimizer_states"], b["optimizer_states"], strict=True):
        for p, state in opt_a["state"].items():
            for k, v in state.items():
                assert torch.equal(torch.as_tensor(v), torch.as_tensor(opt_b["state"][p][k])), (p, k)


class SigtermAt(L.Callback):
    """Sends this process SIGTERM after training batch `step` (counted in batches over the whole run)."""

    def __init__(self, batch: int):
        self.batch, self.seen = batch, 0

    def on_train_batch_end(self, trainer, *args) -> None:
        self.seen += 1
        if self.seen == self.batch:
            os.kill(os.getpid(), signal.SIGTERM)


@pytest.mark.parametrize("family", ["gan", "text"])
def test_resume_equals_the_straight_run(family, reviews, tmp_path):
    base = GAN if family == "gan" else _text(reviews)
    # 2 epochs extended to 4 equal 4 straight only if the lr does not depend on the run's length (the GAN's
    # default decays to 0 by the last step); an interrupted run keeps its length and its schedule
    constant = [*base, "model.scheduler=null"]
    straight_constant = tmp_path / "straight_constant"
    train(compose_config("train", straight_constant, [*constant, "trainer.max_epochs=4"]))
    straight = tmp_path / "straight"
    if family == "gan":
        train(compose_config("train", straight, [*base, "trainer.max_epochs=4"]))
    else:  # no schedule by default: the same run
        straight = straight_constant

    # epoch end, resumed in the same directory with more epochs
    same = tmp_path / "same"
    train(compose_config("train", same, [*constant, "trainer.max_epochs=2"]))
    assert _state(same)["epoch"] == 1
    resume = [f"ckpt_path={same}/checkpoints/last.ckpt", "trainer.max_epochs=4"]
    train(compose_config("train", same, [*constant, *resume]))
    _assert_same_training_state(_state(straight_constant), _state(same))

    # SIGTERM in the middle of epoch 1 (after its 2nd of 3 batches), resumed in a new directory
    killed, new = tmp_path / "killed", tmp_path / "new"
    with pytest.raises(RunInterrupted) as interrupted:
        train(
            compose_config("train", killed, [*base, "trainer.max_epochs=4"]), extra_callbacks=[SigtermAt(5)]
        )
    assert (
        interrupted.value.code == 143 and interrupted.value.checkpoint == killed / "checkpoints" / "last.ckpt"
    )
    midway = _state(killed)
    assert midway["global_step"] == 5 * (2 if family == "gan" else 1)  # the GAN steps two optimizers
    resume = [f"ckpt_path={killed}/checkpoints/last.ckpt", "trainer.max_epochs=4"]
    train(compose_config("train", new, [*base, *resume]))
    _assert_same_training_state(_state(straight), _state(new))
    # the metrics continue: the killed run's rows and the resumed run's are the straight run's
    metric = "train/loss_d" if family == "gan" else "train/loss"
    assert _logged(killed, metric) + _logged(new, metric) == _logged(straight, metric)


@pytest.mark.parametrize("family", ["gan", "text"])
def test_last_ckpt_is_the_newest_state_and_the_best_is_kept(family, reviews, tmp_path):
    base = GAN if family == "gan" else _text(reviews)
    train(compose_config("train", tmp_path, [*base, "trainer.max_epochs=4"]))
    last = _state(tmp_path)
    assert last["epoch"] == 3 and last["global_step"] == 4 * 3 * (2 if family == "gan" else 1)
    best = [p for p in (tmp_path / "checkpoints").glob("epoch_*.ckpt")]
    assert len(best) == 1  # the best epoch by the monitored metric, beside last.ckpt


def test_ckpt_path_last_starts_fresh_then_continues_in_the_same_directory(tmp_path):
    """What a requeued SLURM job does: the same command twice, `ckpt_path=last`, one run directory."""
    command = [*GAN, "ckpt_path=last", "trainer.max_epochs=1"]
    train(compose_config("train", tmp_path, command))  # nothing to resume yet: a fresh start
    assert _state(tmp_path)["epoch"] == 0
    train(compose_config("train", tmp_path, [*command, "trainer.max_epochs=2"]))
    assert _state(tmp_path)["epoch"] == 1 and _state(tmp_path)["global_step"] == 2 * 3 * 2


def test_an_interrupted_run_is_marked_so_in_wandb(tmp_path):
    from flik_lab.utils.finish import finished_runs

    cfg = compose_config("train", tmp_path, [*GAN, "logger=[csv,wandb]", "trainer.max_epochs=2"])
    with pytest.raises(RunInterrupted), finished_runs():
        train(cfg, extra_callbacks=[SigtermAt(2)])
    (run,) = (tmp_path / "wandb").glob("offline-run-*")
    records = run_records(run, b"flik_lab/status", b'"interrupted"')  # what `wandb sync` uploads
    assert b"flik_lab/status" in records and b'"interrupted"' in records  # the summary's JSON value
