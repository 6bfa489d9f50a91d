"""A run can be followed without a terminal: one line per epoch, and a summary of what it wrote at the end."""

import logging

from flik_lab.training import train

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
