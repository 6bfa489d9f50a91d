"""A run's logged metrics as one table (`step`, `epoch`, one column per metric), from whichever logger
wrote them: CSV, TensorBoard event files or an offline W&B run."""

import json
from pathlib import Path

import pandas as pd

from flik_lab.loggers.wandb_file import wandb_records
from flik_lab.utils.extras import require

CSV = Path("csv/metrics.csv")


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


def read_wandb(run: Path) -> pd.DataFrame | None:
    """The history rows of the run's offline W&B run files (what `wandb sync` would upload)."""
    files = sorted(run.glob("wandb/offline-run-*/run-*.wandb"))
    if not files:
        return None
    rows = []
    for path in files:
        for record in wandb_records(path):
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
