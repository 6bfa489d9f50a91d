"""Multiruns for real (subprocesses): DDP ranks inside sweeps, failing jobs, W&B groups and resume."""

from pathlib import Path

import pandas as pd
import pytest
import torch

from .helpers.cli import run_flik_lab
from .helpers.text import small_lstm, write_reviews

pytestmark = [pytest.mark.slow, pytest.mark.multiprocess]


def _jobs(sweep: Path) -> list[Path]:
    return sorted(p for p in sweep.iterdir() if p.is_dir())


def _assert_one_run_per_job(tmp_path: Path, sweep: Path, metric: str) -> None:
    assert [p.name for p in tmp_path.iterdir()] == ["sweep"]  # no rank started a sweep of its own
    assert [p.name for p in _jobs(sweep)] == ["0", "1"]
    for job in _jobs(sweep):
        assert (job / "rank1.log").is_file()  # the second rank ran inside this job's directory
        assert sorted(p.name for p in (job / "checkpoints").iterdir()) == ["epoch_000.ckpt", "last.ckpt"]
        assert [p.relative_to(job) for p in job.rglob("metrics.csv")] == [Path("csv/metrics.csv")]
        metrics = pd.read_csv(job / "csv" / "metrics.csv")
        assert metrics[metric].notna().sum() == 1 and metrics["epoch"].max() <= 1
        assert not list(job.rglob("multirun.yaml"))


def test_gan_sweep_with_two_gloo_ranks_per_job(tmp_path):
    sweep = tmp_path / "sweep"
    result = run_flik_lab(
        tmp_path, "train", "-m", "trainer=ddp_cpu", "seed=1,2", "debug=tiny", f"hydra.sweep.dir={sweep}"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    _assert_one_run_per_job(tmp_path, sweep, "val/fid")
    for job in _jobs(sweep):  # sample grids and FID by rank zero only: one grid per epoch
        assert [p.name for p in (job / "samples").iterdir()] == ["epoch_000.png"]
        assert "Initializing distributed: GLOBAL_RANK: 1" in (job / "rank1.log").read_text()
    console = result.stdout + result.stderr  # rank 1 logs to its file only; known warnings off on both ranks
    assert "GLOBAL_RANK: 1" not in console and "GLOBAL_RANK: 0" in console
    assert "sync_dist=True" not in console and "Grad strides" not in console


def test_classifier_sweep_with_two_gloo_ranks_per_job(tmp_path):
    data = tmp_path / "data"
    write_reviews(data, 300, 100)
    sweep = tmp_path / "sweep"
    result = run_flik_lab(
        tmp_path,
        "train",
        "-m",
        "trainer=ddp_cpu",
        *small_lstm(data, 50, width=16),
        "seed=1,2",
        "debug=tiny",
        f"hydra.sweep.dir={sweep}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (data_dir,) = [p for p in tmp_path.iterdir() if p.name == "data"]  # the cache lives beside the data
    assert (data_dir / "cache").is_dir()
    for p in list(tmp_path.iterdir()):
        if p.name == "data":
            continue
        assert p.name == "sweep"
    assert [p.name for p in _jobs(sweep)] == ["0", "1"]
    for job in _jobs(sweep):
        assert (job / "rank1.log").is_file()
        assert pd.read_csv(job / "csv" / "metrics.csv")["val/acc"].notna().sum() == 1


def test_a_failing_job_does_not_stop_the_sweep(tmp_path):
    sweep = tmp_path / "sweep"
    # 33 does not divide across two DDP ranks: job 0 fails with an error naming the key; job 1 runs on one CPU
    result = run_flik_lab(
        tmp_path,
        "train",
        "-m",
        "trainer=ddp_cpu,cpu",
        "data.batch_size=33",
        "debug=tiny",
        f"hydra.sweep.dir={sweep}",
    )
    assert result.returncode != 0
    assert "data.batch_size=33 is the global batch size" in (sweep / "0" / "error.txt").read_text()
    assert (sweep / "1" / "checkpoints" / "last.ckpt").is_file()
    assert "1 of 2 jobs failed" in result.stdout and "job 0" in (sweep / "failed_jobs.txt").read_text()


def test_wandb_one_run_per_job_grouped_by_sweep_and_resumed(tmp_path):
    sweep = tmp_path / "sweep" / "2026-01-01_00-00-00"
    args = ["logger=[csv,wandb]", "debug=tiny", "test=false"]
    result = run_flik_lab(tmp_path, "train", "-m", "seed=1,2", *args, f"hydra.sweep.dir={sweep}")
    assert result.returncode == 0, result.stderr[-3000:]
    ids = []
    for job, seed in zip(_jobs(sweep), ("1", "2"), strict=True):
        (run_file,) = job.glob("wandb/offline-run-*/run-*.wandb")
        data = run_file.read_bytes()
        assert b"train-2026-01-01_00-00-00" in data  # the group: the sweep's name and time
        assert f"seed={seed}".encode() in data  # the name: the job's overrides
        ids.append(run_file.stem.removeprefix("run-"))
    assert len(set(ids)) == 2

    last = sweep / "0" / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["flik_lab"]["wandb_run_id"] == ids[0]
    resumed = tmp_path / "resumed"
    result = run_flik_lab(
        tmp_path, "train", *args, "trainer.max_epochs=2", f"ckpt_path={last}", f"hydra.run.dir={resumed}"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert [p.stem for p in resumed.glob("wandb/offline-run-*/run-*.wandb")] == [f"run-{ids[0]}"]
