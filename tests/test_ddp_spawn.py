"""`trainer=ddp_spawn` for real, on two gloo CPU processes: fit, then test, into one metrics log."""

from pathlib import Path

import pandas as pd
import pytest

from .helpers.cli import run_flik_lab
from .helpers.text import small_lstm, write_reviews

pytestmark = [pytest.mark.slow, pytest.mark.multiprocess]

SPAWN_ON_CPU = [
    "trainer=ddp_spawn",
    "trainer.accelerator=cpu",
    "trainer.devices=2",
    "trainer.precision=32-true",
]


def _assert_fit_and_test_logged(run: Path, val: str, test: str) -> None:
    assert [p.relative_to(run) for p in run.rglob("metrics.csv")] == [Path("csv/metrics.csv")]
    metrics = pd.read_csv(run / "csv" / "metrics.csv")
    assert metrics[val].notna().sum() == 1 and metrics[test].notna().sum() == 1
    assert metrics["step"].is_monotonic_increasing
    assert (run / "checkpoints" / "last.ckpt").is_file()


def test_gan_with_spawned_ranks(tmp_path):
    run = tmp_path / "run"
    result = run_flik_lab(tmp_path, "train", *SPAWN_ON_CPU, "debug=tiny", f"hydra.run.dir={run}")
    assert result.returncode == 0, result.stderr[-3000:]
    _assert_fit_and_test_logged(run, "val/fid", "test/fid")
    # the spawned processes log as the job does (rank 1 into its own file) and filter its known warnings
    console = result.stdout + result.stderr
    assert "] - epoch 0/0 " in console and "] - epoch 0/0 " in (run / "train.log").read_text()
    assert "GLOBAL_RANK: 1" not in console and "GLOBAL_RANK: 1" in (run / "rank1.log").read_text()
    assert "sync_dist=True" not in console and "Grad strides" not in console


def test_text_classifier_with_spawned_ranks(tmp_path):
    data = tmp_path / "data"
    write_reviews(data, 200, 100)
    run = tmp_path / "run"
    args = [*SPAWN_ON_CPU, *small_lstm(data, 50, width=16), "debug=tiny", f"hydra.run.dir={run}"]
    result = run_flik_lab(tmp_path, "train", *args)
    assert result.returncode == 0, result.stderr[-3000:]
    _assert_fit_and_test_logged(run, "val/acc", "test/acc")
