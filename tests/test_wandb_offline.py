"""Offline W&B runs as flik-lab reads and writes them. The run file format that `compare` reads by hand
(flik_lab/loggers/wandb_file.py) is pinned against the installed wandb: a run it writes reads back exactly,
as W&B's own reader reads it, and a file in another format fails naming the wandb version. With
`logger.wandb.log_model=true` an offline run records its checkpoints as model artifacts."""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import wandb

from flik_lab.loggers.run_metrics import read_wandb
from flik_lab.loggers.wandb_file import BLOCK, HEADER, wandb_records
from flik_lab.training import train
from flik_lab.utils.errors import InputError
from flik_lab.utils.finish import finish_wandb

from .helpers.config import compose_config

pytestmark = pytest.mark.multiprocess  # wandb.init starts W&B's own service process
ROWS = [
    {"train/loss": 1 / (step + 1), "epoch": step // 100, "trainer/global_step": step} for step in range(600)
]
LONG = "x" * 40_000  # a config record longer than a block: written in parts
CHANGED = (
    f"the offline run format of wandb {wandb.__version__} is not the one flik_lab/loggers/wandb_file.py "
    "reads: update the reader to it, or keep wandb below this version"
)


def _run_file(folder: Path) -> Path:
    (path,) = folder.glob("wandb/offline-run-*/run-*.wandb")
    return path


def _when_written(read, done, timeout: float = 30.0):
    """`read()` once `done(result)`, or after `timeout` seconds: W&B's writer is another process."""
    deadline = time.monotonic() + timeout
    while not done(result := read()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return result


@pytest.fixture(scope="module")
def offline_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wandb_run")
    run = wandb.init(mode="offline", dir=folder, project="format-check", config={"long": LONG})
    for row in ROWS:
        run.log(row)
    run.finish()
    return folder


def test_an_offline_run_of_the_installed_wandb_reads_back_exactly(offline_run):
    frame = _when_written(lambda: read_wandb(offline_run), lambda f: f is not None and len(f) == len(ROWS))
    assert frame is not None and len(frame) == len(ROWS), CHANGED
    assert frame["train/loss"].tolist() == [row["train/loss"] for row in ROWS], CHANGED
    assert frame["step"].tolist() == list(range(len(ROWS))) and frame["epoch"].iloc[-1] == 5, CHANGED
    path = _run_file(offline_run)
    assert path.stat().st_size > 2 * BLOCK  # records cross blocks
    (run,) = [r.run for r in wandb_records(path) if r.WhichOneof("record_type") == "run"]
    values = {item.key: json.loads(item.value_json) for item in run.config.update}
    assert values["long"] == LONG, CHANGED  # a record in parts


def test_the_reader_agrees_with_wandbs_own(offline_run):
    path = _run_file(offline_run)
    command = [sys.executable, "-m", "wandb", "leet", "inspect", "--json", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        pytest.skip(f"wandb {wandb.__version__} has no `wandb leet inspect --json`: {result.stderr[-300:]}")
    theirs = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    ours = list(wandb_records(path))
    assert [r["type"] for r in theirs] == [r.WhichOneof("record_type") for r in ours], CHANGED
    history = [r["history"]["item"] for r in theirs if r["type"] == "history"]
    assert [row["train/loss"] for row in history] == [row["train/loss"] for row in ROWS], CHANGED


@pytest.mark.parametrize(("byte", "problem"), [(len(HEADER) - 1, "header"), (len(HEADER) + 8, "checksum")])
def test_a_file_in_another_format_fails_naming_the_wandb_version(offline_run, tmp_path, byte, problem):
    data = bytearray(_run_file(offline_run).read_bytes())
    data[byte] ^= 0xFF  # the format version, or a byte of the first record
    copy = tmp_path / "wandb" / "offline-run-x" / "run-x.wandb"
    copy.parent.mkdir(parents=True)
    copy.write_bytes(bytes(data))
    with pytest.raises(InputError, match=f"{problem}.*wandb {re.escape(wandb.__version__)} is installed"):
        read_wandb(tmp_path)


@pytest.mark.slow
def test_log_model_records_the_checkpoints_as_artifacts_of_the_offline_run(tmp_path):
    overrides = ["debug=tiny", "logger=[csv,wandb]", "logger.wandb.log_model=true", "test=false"]
    train(compose_config("train", tmp_path, overrides))
    finish_wandb(failed=False)
    path = _run_file(tmp_path)

    def artifacts():
        return [r.artifact for r in wandb_records(path) if r.WhichOneof("record_type") == "artifact"]

    found = _when_written(artifacts, lambda a: len(a) >= 2)
    files = {json.loads(a.metadata)["original_filename"]: a for a in found}
    best = next((tmp_path / "checkpoints").glob("epoch_*.ckpt"))
    assert files.keys() == {"last.ckpt", best.name}
    assert "best" in files[best.name].aliases and "best" not in files["last.ckpt"].aliases
    for artifact in found:
        assert artifact.type == "model" and artifact.name == f"model-{path.stem.removeprefix('run-')}"
        (entry,) = artifact.manifest.contents
        assert entry.path == "model.ckpt" and entry.size > 0 and Path(entry.local_path).is_file()
