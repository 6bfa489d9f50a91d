"""Hydra launchers: SLURM config and environment, submitit's local executor and joblib, for real."""

from pathlib import Path

import lightning as L
import pandas as pd
import pytest
from hydra import compose, initialize_config_module
from lightning.fabric.plugins.environments import SLURMEnvironment
from lightning.pytorch.utilities.rank_zero import rank_zero_only
from omegaconf import DictConfig
from omegaconf.errors import InterpolationResolutionError

from flik_lab.utils.conf import CONF_MODULE
from flik_lab.utils.resolvers import register_resolvers

from .helpers.cli import run_flik_lab

register_resolvers()  # as `flik-lab train` does at start


def _slurm_launcher(*overrides: str) -> DictConfig:
    with initialize_config_module(version_base="1.3", config_module=CONF_MODULE):
        cfg = compose("train", ["hydra/launcher=slurm", *overrides], return_hydra_config=True)
    return cfg.hydra.launcher


def test_slurm_launcher_config_matches_the_trainer():
    launcher = _slurm_launcher("trainer=ddp_multinode", "trainer.num_nodes=4", "hydra.launcher.partition=gpu")
    assert launcher._target_.endswith("SlurmLauncher") and launcher.partition == "gpu"
    assert launcher.nodes == 4 and launcher.tasks_per_node == launcher.gpus_per_node == 8
    assert launcher.max_num_timeout > 0 and launcher.signal_delay_s > 0  # requeue on preemption


@pytest.mark.parametrize(
    ("trainer", "nodes", "tasks", "gpus"),
    [
        (["trainer=default"], 1, 1, 1),
        (["trainer=gpu"], 1, 1, 1),
        (["trainer=cpu"], 1, 1, 0),
        (["trainer=ddp", "trainer.devices=4"], 1, 4, 4),
        (["trainer=ddp", "trainer.devices=[0,1]"], 1, 2, 2),
        (["trainer=ddp_cpu"], 1, 2, 0),
        (["trainer=ddp_multinode"], 2, 8, 8),
    ],
)
def test_slurm_launcher_follows_every_trainer(trainer, nodes, tasks, gpus):
    launcher = _slurm_launcher(*trainer)
    assert (launcher.nodes, launcher.tasks_per_node, launcher.gpus_per_node) == (nodes, tasks, gpus)


@pytest.mark.parametrize("devices", ["-1", "auto"])
def test_slurm_launcher_needs_a_device_count(devices):
    launcher = _slurm_launcher("trainer=ddp", f"trainer.devices={devices}")
    with pytest.raises(InterpolationResolutionError, match=f"trainer.devices={devices} does not say"):
        _ = launcher.tasks_per_node


@pytest.mark.multiprocess
def test_flik_lab_train_knows_the_slurm_resolvers(tmp_path):
    args = [
        "hydra/launcher=slurm",
        "trainer=ddp",
        f"paths.output_dir={tmp_path}",
        "--cfg",
        "all",
        "--resolve",
    ]
    result = run_flik_lab(tmp_path, "train", *args)
    assert result.returncode != 0 and "trainer.devices=-1 does not say" in result.stderr


def test_ranks_come_from_slurm_not_from_relaunching(monkeypatch):
    slurm = {
        "SLURM_NTASKS": "2",
        "SLURM_NTASKS_PER_NODE": "2",
        "SLURM_PROCID": "1",
        "SLURM_LOCALID": "1",
        "SLURM_NODEID": "0",
        "SLURM_JOB_ID": "123",
        "SLURM_JOB_NAME": "flik",
        "SLURM_NODELIST": "node1",
    }
    for key, value in slurm.items():
        monkeypatch.setenv(key, value)
    # the Trainer makes this process "rank 1" for every rank_zero_only function: undo that afterwards
    monkeypatch.setattr(rank_zero_only, "rank", rank_zero_only.rank)
    trainer = L.Trainer(accelerator="cpu", devices=2, strategy="ddp", logger=False)
    environment = trainer.strategy.cluster_environment
    assert isinstance(environment, SLURMEnvironment) and environment.creates_processes_externally
    assert (trainer.global_rank, trainer.world_size) == (1, 2)


def _job_metrics(job: Path) -> pd.DataFrame:
    return pd.read_csv(job / "csv" / "metrics.csv")


@pytest.mark.slow
@pytest.mark.multiprocess
def test_submitit_local_executor_runs_the_job(tmp_path):
    sweep = tmp_path / "sweep"
    result = run_flik_lab(
        tmp_path,
        "train",
        "-m",
        "hydra/launcher=local_submitit",
        "seed=1",
        "debug=tiny",
        f"hydra.sweep.dir={sweep}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (sweep / "0" / "checkpoints" / "last.ckpt").is_file()
    assert _job_metrics(sweep / "0")["val/fid"].notna().any()
    assert list((sweep / ".submitit").rglob("*_result.pkl"))  # it went through submitit


@pytest.mark.slow
@pytest.mark.multiprocess
def test_joblib_runs_jobs_in_parallel_processes(tmp_path):
    sweep = tmp_path / "sweep"
    result = run_flik_lab(
        tmp_path,
        "train",
        "-m",
        "hydra/launcher=local_parallel",
        "seed=1,2",
        "debug=tiny",
        f"hydra.sweep.dir={sweep}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for job in ("0", "1"):
        assert _job_metrics(sweep / job)["val/fid"].notna().any()
