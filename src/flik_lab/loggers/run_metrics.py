"""A run's logged metrics as one table (`step`, `epoch`, one column per metric), from whichever logger
wrote them: CSV, TensorBoard event files or an offline W&B run."""

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from flik_lab.utils.errors import InputError
from flik_lab.utils.extras import require

CSV = Path("csv/metrics.csv")
WANDB_BLOCK = 32768  # the .wandb file is a LevelDB-style log: 32 KiB blocks of framed records
WANDB_HEADER = 7  # ":W&B", 2 magic bytes, 1 version byte; each record: crc32, length (2 bytes), type


def read_csv(run: Path) -> pd.DataFrame | None:
    path = run / CSV
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return None


def read_tensorboard(run: Path) -> pd.DataFrame | None:
    """Every scalar of the run's TensorBoard event files, one row per step."""
    events = sorted(run.rglob("events.out.tfevents.*"))
    if not events:
        return None
    require("tensorboard", f"reading the TensorBoard events in {run}")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    rows: dict[int, dict] = {}
    for folder in sorted({path.parent for path in events}):
        accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0})
        accumulator.Reload()
        for tag in accumulator.Tags()["scalars"]:
            for event in accumulator.Scalars(tag):
                rows.setdefault(event.step, {"step": event.step})[tag] = event.value
    return _frame(list(rows.values()))


def _wandb_records(path: Path) -> Iterator[bytes]:
    data = path.read_bytes()
    if data[:4] != b":W&B":
        raise InputError(f"{path} is not a W&B run file")
    pos, parts = WANDB_HEADER, []
    while pos + 7 <= len(data):
        left = WANDB_BLOCK - pos % WANDB_BLOCK
        if left < 7:  # a block's tail too short for a record header is padding
            pos += left
            continue
        length, kind = int.from_bytes(data[pos + 4 : pos + 6], "little"), data[pos + 6]
        chunk, pos = data[pos + 7 : pos + 7 + length], pos + 7 + length
        if kind == 1:  # a whole record
            yield chunk
        elif kind in (2, 3):  # first or middle part of a record that spans blocks
            parts.append(chunk)
        elif kind == 4:
            yield b"".join([*parts, chunk])
            parts = []
        elif kind == 0:  # zero padding up to the block's end
            pos += left - 7 - length


def read_wandb(run: Path) -> pd.DataFrame | None:
    """The history rows of the run's offline W&B run files (what `wandb sync` would upload)."""
    files = sorted(run.glob("wandb/offline-run-*/run-*.wandb"))
    if not files:
        return None
    from wandb.proto.wandb_internal_pb2 import Record

    rows = []
    for path in files:
        for data in _wandb_records(path):
            record = Record()
            record.ParseFromString(data)
            if record.WhichOneof("record_type") != "history":
                continue
            row = {
                item.key or "/".join(item.nested_key): json.loads(item.value_json)
                for item in record.history.item
            }
            row = {key: value for key, value in row.items() if isinstance(value, int | float)}
            row["step"] = row.pop("trainer/global_step", row.get("_step"))
            rows.append({key: value for key, value in row.items() if not key.startswith("_")})
    return _frame(rows)


def _frame(rows: list[dict]) -> pd.DataFrame | None:
    if not rows:
        return None
    frame = pd.DataFrame(rows).sort_values("step", kind="stable").reset_index(drop=True)
    if "epoch" in frame:  # as in metrics.csv: every row knows its epoch
        frame["epoch"] = frame["epoch"].ffill().bfill()
    return frame


READERS = {"csv": read_csv, "tensorboard": read_tensorboard, "wandb": read_wandb}


def read_run_metrics(run: Path) -> tuple[pd.DataFrame | None, str]:
    """The metrics of the first logger that wrote any (CSV, TensorBoard, W&B), and where they came from;
    `(None, reason)` when none did."""
    for name, reader in READERS.items():
        frame = reader(run)
        if frame is not None and len(frame):
            return frame, name
    return None, "no metrics: no csv/metrics.csv, TensorBoard events or offline W&B run"
