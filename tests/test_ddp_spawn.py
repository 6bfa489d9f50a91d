"""`trainer=ddp_spawn` for real, on two gloo CPU processes: fit, then test, into one metrics log."""

from pathlib import Path

import pandas as pd
import pytest

from flik_lab.data.text.synthetic import generate_reviews, write_parquet

from .test_sweeps import TINY, flik_lab

pytestmark = pytest.mark.slow

SPAWN_ON_CPU = [
    "trainer=ddp_spawn", "trainer.accelerator=cpu", "trainer.devices=2", "trainer.precision=32-true"
]  # fmt: skip


def _assert_fit_and_test_logged(run: Path, val: str, test: str) -> None:
    assert [p.relative_to(run) for p in run.rglob("metrics.csv")] == [Path("csv/metrics.csv")]
    metrics = pd.read_csv(run / "csv" / "metrics.csv")
    assert metrics[val].notna().sum() == 1 and metrics[test].notna().sum() == 1
    assert metrics["step"].is_monotonic_increasing
    assert (run / "checkpoints" / "last.ckpt").is_file()


def test_gan_with_spawned_ranks(tmp_path):
    run = tmp_path / "run"
    result = flik_lab(tmp_path, "train", *SPAWN_ON_CPU, *TINY, f"hydra.run.dir={run}")
    assert result.returncode == 0, result.stderr[-3000:]
    _assert_fit_and_test_logged(run, "val/fid", "test/fid")


def test_text_classifier_with_spawned_ranks(tmp_path):
    data = tmp_path / "data"
    write_parquet(data, generate_reviews(200, 0, median_words=30), generate_reviews(100, 1, median_words=30))
    args = ["experiment=imdb_lstm", "data.source=parquet", f"paths.data_dir={data}", "data.val_size=50",
            "model.embed_dim=16", "model.encoder.hidden_size=16"]  # fmt: skip
    run = tmp_path / "run"
    result = flik_lab(tmp_path, "train", *SPAWN_ON_CPU, *args, *TINY, f"hydra.run.dir={run}")
    assert result.returncode == 0, result.stderr[-3000:]
    _assert_fit_and_test_logged(run, "val/acc", "test/acc")
