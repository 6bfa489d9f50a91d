"""A run can be followed without a terminal: one line per epoch, and a summary of what it wrote at the end."""

import logging

import pytest

from flik_lab.training import train

from .helpers.cli import run_flik_lab
from .helpers.config import compose_config


def test_each_epoch_is_one_line_and_the_run_ends_with_a_summary(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="flik_lab")
    train(compose_config("train", tmp_path, ["debug=tiny", "trainer.max_epochs=2"]))
    epochs = [r.getMessage() for r in caplog.records if r.name == "flik_lab.progress"]
    assert len(epochs) == 2 and epochs[1].startswith("epoch 1/1  ")
    assert "train/loss_d=" in epochs[1] and "val/fid=" in epochs[1]
    (summary,) = [r.getMessage() for r in caplog.records if "run finished in" in r.getMessage()]
    assert "best val/fid" in summary and "checkpoints/epoch_00" in summary
    assert "last state (epoch 1): checkpoints/last.ckpt" in summary and "test/fid=" in summary
    assert "sample grids: samples/epoch_001.png" in summary and "next: flik-lab sample ckpt_path=" in summary


@pytest.mark.multiprocess
def test_train_log_holds_the_config_tree_every_epoch_and_the_summary(tmp_path):
    run = tmp_path / "run"
    result = run_flik_lab(tmp_path, "train", "debug=tiny", "trainer.max_epochs=2", f"hydra.run.dir={run}")
    assert result.returncode == 0, result.stderr[-2000:]
    log = (run / "train.log").read_text()
    assert "resolved config:" in log and "├── model" in log and "_target_: flik_lab.models.gan.GAN" in log
    assert log.count("flik_lab.progress][INFO] - epoch ") == 2
    assert "run finished in" in log and "best val/fid" in log
    assert result.stdout.count(f"run written to {run}") == 1
