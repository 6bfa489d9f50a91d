"""The console of a run, as a batch job or a pipe captures it: each line once, no config tree, no progress-bar
fragments, full model-summary names; the run's train.log holds all of it; a sweep ends with its table."""

import re
from collections import Counter

import pytest

from flik_lab.commands.compare import compare_table

from .helpers.cli import run_flik_lab

pytestmark = [pytest.mark.slow, pytest.mark.multiprocess]

HYDRA_PREFIX = re.compile(r"^\[[^]]*\]\[[^]]*\]\[[A-Z]+\] - ")  # [time][logger][LEVEL] - message


def _records(text: str) -> list[str]:
    """The first line of each log record in `text`, without its `[time][logger][LEVEL] - ` or `INFO: `."""
    starts = (line for line in text.splitlines() if HYDRA_PREFIX.match(line) or line.startswith("INFO: "))
    return [HYDRA_PREFIX.sub("", line).removeprefix("INFO: ") for line in starts]


def _repeated(text: str) -> list[str]:
    return [line for line, count in Counter(_records(text)).items() if count > 1]


def test_a_run_prints_each_line_once_and_its_log_file_holds_everything(tmp_path):
    run = tmp_path / "run"
    # debug=limit keeps the progress bar and the model summary (debug=tiny turns both off)
    limits = ["trainer.limit_train_batches=2", "trainer.limit_val_batches=1", "trainer.limit_test_batches=1"]
    result = run_flik_lab(tmp_path, "train", "debug=limit", *limits, f"hydra.run.dir={run}")
    assert result.returncode == 0, result.stderr[-3000:]
    console = result.stdout + result.stderr
    assert not _repeated(console) and "INFO: " not in console  # Lightning's own handler printed them again
    assert "\r" not in console  # no progress bar where stdout is not a terminal: the epoch lines instead
    assert len([line for line in _records(console) if line.startswith("epoch ")]) == 2
    assert "├──" not in console and "_target_:" not in console  # the config tree is in train.log only
    assert _records(console).count(f"resolved config: its tree is in {run / 'train.log'}") == 1
    assert "generator_ema.module | Generator " in console and "…" not in console  # names in full

    log = (run / "train.log").read_text()
    assert "resolved config:" in log and "├── model" in log and "_target_: flik_lab.models.gan.GAN" in log
    assert not _repeated(log)
    for line in ("GPU available: False, used: False", "`Trainer.fit` stopped: `max_epochs=2` reached."):
        assert _records(log).count(line) == 1 and line in console
    assert "generator_ema.module | Generator " in log  # Lightning's plain summary goes through logging


def test_a_sweep_prints_each_line_once_and_ends_with_the_table_of_its_jobs(tmp_path):
    sweep = tmp_path / "sweep"
    result = run_flik_lab(tmp_path, "train", "-m", "seed=1,2", "debug=tiny", f"hydra.sweep.dir={sweep}")
    assert result.returncode == 0, result.stderr[-3000:]
    console = result.stdout + result.stderr
    assert _records(console).count("GPU available: False, used: False") == 2  # once per job
    assert "├──" not in console and "\r" not in console
    assert len(console.splitlines()) < 70  # 448 lines for three such jobs before
    table = compare_table(sweep)
    assert "job" in table and result.stdout.rstrip().endswith(table.rstrip())
    for job in ("0", "1"):
        assert "├── model" in (sweep / job / "train.log").read_text()
