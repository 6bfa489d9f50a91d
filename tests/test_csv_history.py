"""metrics.csv is one history per run directory: continued on resume, shared by processes (ddp_spawn)."""

import copy

import pandas as pd
import pytest
import torch

from flik_lab.loggers.csv import CSVLogger
from flik_lab.training import train

from .helpers.config import compose_config


def _metrics(run) -> pd.DataFrame:
    return pd.read_csv(run / "csv" / "metrics.csv")


def _checkpoint(path, batches_that_stepped: int, in_batch: bool = False) -> str:
    """A file holding only the loop state `first_resumed_step` reads."""
    done = {"ready": 4, "started": 4, "processed": 4, "completed": 3 if in_batch else 4}
    loop = {"epoch_loop.state_dict": {"_batches_that_stepped": batches_that_stepped}}
    torch.save({"loops": {"fit_loop": {**loop, "epoch_loop.batch_progress": {"total": done}}}}, path)
    return str(path)


def test_copies_of_the_logger_share_one_file(tmp_path):
    # ddp_spawn: the fit and the test run in separate processes, each with a copy of the main process's logger
    logger = CSVLogger(tmp_path, name="csv", version="")
    logger.log_hyperparams({"seed": 1})
    fit, test = copy.deepcopy(logger), copy.deepcopy(logger)
    fit.log_metrics({"val/fid": 3.0}, step=3)
    fit.save()
    test.log_metrics({"test/fid": 2.0}, step=4)
    test.save()
    metrics = _metrics(tmp_path)
    assert list(metrics.columns) == ["step", "test/fid", "val/fid"]
    assert metrics["step"].tolist() == [3, 4] and metrics["val/fid"].tolist()[0] == 3.0


def _log_six_steps(run) -> None:
    first = CSVLogger(run, name="csv", version="")
    for step in range(6):
        first.log_metrics({"train/loss": float(step)}, step=step)
    first.save()


@pytest.mark.parametrize(("in_batch", "kept"), [(False, [0, 1, 2]), (True, [0, 1, 2, 3])])
def test_resume_keeps_the_rows_before_the_checkpoint(tmp_path, in_batch, kept):
    _log_six_steps(tmp_path)
    ckpt = _checkpoint(tmp_path / "last.ckpt", batches_that_stepped=3, in_batch=in_batch)
    resumed = CSVLogger(tmp_path, name="csv", version="", resume_from=ckpt)
    resumed.log_hyperparams({"seed": 1})
    assert _metrics(tmp_path)["step"].tolist() == kept  # rows 3.. were logged after the checkpoint
    resumed.log_metrics({"train/loss": 9.0, "train/new": 1.0}, step=kept[-1] + 1)
    resumed.save()
    metrics = _metrics(tmp_path)
    assert metrics["step"].tolist() == [*kept, kept[-1] + 1] and metrics["train/new"].notna().sum() == 1


@pytest.mark.parametrize("first_step", [0, 3])
def test_resume_from_last_keeps_the_rows_before_the_first_new_one(tmp_path, first_step):
    # ckpt_path=last: train finds the checkpoint (0: none yet, the run starts again); the logger sees the name
    _log_six_steps(tmp_path)
    resumed = CSVLogger(tmp_path, name="csv", version="", resume_from="last")
    resumed.log_hyperparams({"seed": 1})
    assert len(_metrics(tmp_path)) == 6
    resumed.log_metrics({"train/loss": 9.0}, step=first_step)
    resumed.save()
    resumed.log_metrics({"train/loss": 9.0}, step=first_step + 1)
    resumed.save()
    assert _metrics(tmp_path)["step"].tolist() == [*range(first_step), first_step, first_step + 1]


def test_a_new_run_replaces_the_old_file(tmp_path):
    old = CSVLogger(tmp_path, name="csv", version="")
    old.log_metrics({"a": 1.0}, step=0)
    old.save()
    new = CSVLogger(tmp_path, name="csv", version="")
    new.log_metrics({"b": 2.0}, step=0)
    new.save()
    assert list(_metrics(tmp_path).columns) == ["b", "step"]


@pytest.mark.slow
def test_resume_in_the_same_directory_continues_the_history(tmp_path):
    base = ["debug=tiny", "trainer.limit_train_batches=2", "seed=0"]
    train(compose_config("train", tmp_path, [*base, "trainer.max_epochs=2", "test=false"]))
    last = tmp_path / "checkpoints" / "last.ckpt"
    path = tmp_path / "csv" / "metrics.csv"
    logged = pd.read_csv(path)  # + a row of a run killed after its last checkpoint
    pd.concat([logged, logged.iloc[[0]].assign(epoch=2, step=4)]).to_csv(path, index=False)
    train(compose_config("train", tmp_path, [*base, "trainer.max_epochs=4", f"ckpt_path={last}"]))
    metrics = _metrics(tmp_path)
    assert metrics["step"].is_monotonic_increasing
    assert metrics.dropna(subset=["val/fid"])["epoch"].tolist() == [0, 1, 2, 3]
    assert metrics.dropna(subset=["train/loss_g"])["step"].tolist() == list(range(8))  # 2 batches an epoch
    assert metrics["test/fid"].notna().sum() == 1  # a column the first run never wrote
