"""SIGTERM, what SLURM sends before a preemption or requeue, for real: a run and a sweep killed mid-run."""

import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from .helpers.cli import start_flik_lab

pytestmark = [pytest.mark.slow, pytest.mark.multiprocess]

# epochs of 20 batches, far more epochs than the test waits for
ENDLESS = ["debug=tiny", "trainer.max_epochs=1000", "trainer.limit_train_batches=20"]


def _load(path):
    return torch.load(path, map_location="cpu", weights_only=True)


def _sigterm_once_exists(proc: subprocess.Popen, path: Path, timeout: float = 240) -> str:
    """Wait for `path` (the first epoch's checkpoint), SIGTERM `proc`; its output once it ended."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()[0][-3000:]
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.2)
    time.sleep(1.0)  # into the next epoch's batches
    proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=120)[0]


def test_sigterm_saves_the_step_and_exits_non_zero(tmp_path):
    run = tmp_path / "run"
    proc = start_flik_lab(tmp_path, "train", *ENDLESS, f"hydra.run.dir={run}")
    out = _sigterm_once_exists(proc, run / "checkpoints" / "epoch_000.ckpt")
    assert proc.returncode == 143, out[-3000:]
    last = run / "checkpoints" / "last.ckpt"
    assert f"interrupted by SIGTERM; resume with ckpt_path={last}" in out
    ckpt = _load(last)  # resumable: weights-only, with its config
    assert ckpt["global_step"] > 2 * 20  # past the first epoch: the step the signal arrived at
    assert "interrupted by SIGTERM" in (run / "train.log").read_text()
    assert not list(run.rglob("*.tmp"))  # the checkpoint was written whole


def test_sigterm_stops_a_sweep_and_names_the_interrupted_job(tmp_path):
    sweep = tmp_path / "sweep"
    proc = start_flik_lab(tmp_path, "train", "-m", "seed=1,2,3", *ENDLESS, f"hydra.sweep.dir={sweep}")
    out = _sigterm_once_exists(proc, sweep / "0" / "checkpoints" / "epoch_000.ckpt")
    assert proc.returncode == 143, out[-3000:]
    assert "job 0 (seed=1" in out and "was interrupted; the sweep stopped, later jobs did not run" in out
    assert "interrupted" in (sweep / "failed_jobs.txt").read_text()
    assert not (sweep / "1").exists()
    assert _load(sweep / "0" / "checkpoints" / "last.ckpt")["global_step"] > 2 * 20


def test_after_kill_9_the_same_command_with_ckpt_path_last_continues(tmp_path):
    """kill -9 gives no chance to save: the run continues from its last whole epoch, history without gaps."""
    run = tmp_path / "run"
    command = [*ENDLESS, f"hydra.run.dir={run}", "ckpt_path=last"]
    proc = start_flik_lab(tmp_path, "train", *command)
    deadline = time.monotonic() + 240
    while not (run / "checkpoints" / "last.ckpt").exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[0][-3000:]
        time.sleep(0.2)
    time.sleep(1.0)
    proc.kill()
    proc.communicate(timeout=60)
    epochs = _load(run / "checkpoints" / "last.ckpt")["epoch"] + 1  # whole, never truncated
    resumed = start_flik_lab(tmp_path, "train", *command, f"trainer.max_epochs={epochs + 1}")
    out = resumed.communicate(timeout=300)[0]
    assert resumed.returncode == 0, out[-3000:]
    assert _load(run / "checkpoints" / "last.ckpt")["epoch"] == epochs
    metrics = pd.read_csv(run / "csv" / "metrics.csv")
    val = metrics.dropna(subset=["val/fid"])
    assert val["epoch"].tolist() == list(range(epochs + 1))  # each epoch once: the rows after the
    assert metrics["step"].is_monotonic_increasing  # checkpoint that kill -9 left behind were dropped
