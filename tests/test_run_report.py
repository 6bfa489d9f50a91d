"""A run can be followed without a terminal: one line per epoch, and a summary of what it wrote at the end."""

import logging
import re
from types import SimpleNamespace

import pytest

from flik_lab.run_summary import run_summary
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
    assert "last state (epoch 1): checkpoints/last.ckpt" in summary
    (tested,) = re.findall(r"test of (checkpoints/epoch_\d+\.ckpt): test/fid=", summary)
    assert "sample grids: samples/epoch_001.png" in summary
    assert f"next: flik-lab sample ckpt_path={tmp_path}/{tested}" in summary  # the checkpoint tested above
    assert f"flik-lab eval ckpt_path={tmp_path}/{tested}" in summary


def summary_of(data_kind: str | None, trust: list[str], tmp_path) -> str:
    trainer = SimpleNamespace(checkpoint_callbacks=[], current_epoch=3, lightning_module=SimpleNamespace())
    if data_kind:
        trainer.lightning_module.data_kind = data_kind
    tested = str(tmp_path / "checkpoints" / "epoch_002.ckpt")
    return run_summary(trainer, tmp_path, {"test/acc": 0.9}, 1.0, tested, trust)


@pytest.mark.parametrize(
    ("kind", "command"),
    [
        ("images", "flik-lab sample"),
        ("reviews", "flik-lab explain"),
        ("sentence_pairs", "flik-lab translate"),
        ("unpaired_images", "flik-lab stylize"),
        ("attributes", "flik-lab eval"),
        (None, "flik-lab eval"),
    ],
)
def test_the_next_command_fits_the_task_and_the_tested_checkpoint(kind, command, tmp_path):
    summary = summary_of(kind, [], tmp_path)
    assert "test of checkpoints/epoch_002.ckpt: test/acc=" in summary
    assert f"next: {command} ckpt_path={tmp_path}/checkpoints/epoch_002.ckpt" in summary
    assert "trusted_targets" not in summary


def test_a_model_flik_lab_does_not_ship_is_named_in_trusted_targets(tmp_path):
    summary = summary_of("reviews", ["my_lab.models.Mine", "my_lab.data.Reviews"], tmp_path)
    next_lines = [line for line in summary.splitlines() if "ckpt_path=" in line]
    assert len(next_lines) == 2
    assert all(
        line.endswith(" trusted_targets=[my_lab.models.Mine,my_lab.data.Reviews]") for line in next_lines
    )


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
