"""A CSV logger whose `metrics.csv` is one history: continued on resume, shared by ddp_spawn's stages."""

import csv
import logging
from pathlib import Path

import torch
from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.loggers import CSVLogger as LightningCSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from typing_extensions import override

log = logging.getLogger(__name__)


def first_resumed_step(ckpt_path: str | Path) -> int | None:
    """The step a run resumed from `ckpt_path` logs first (None if the file is no fit checkpoint)."""
    if not Path(ckpt_path).is_file():
        return None
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True, mmap=True)
    try:
        loop = ckpt["loops"]["fit_loop"]
        stepped = loop["epoch_loop.state_dict"]["_batches_that_stepped"]
        done = loop["epoch_loop.batch_progress"]["total"]
    except KeyError:
        return None
    # Lightning's TrainingEpochLoop.reset: a checkpoint saved after a whole batch (epoch end, validation)
    # resumes at its own count; one saved inside a batch's hooks (on_train_batch_end) counts that batch first
    whole_batch = done["ready"] == done["started"] == done["processed"] == done["completed"]
    return stepped if whole_batch else stepped + 1


class ContinuedWriter(ExperimentWriter):
    """Appends to an existing `metrics.csv` and widens its header, where Lightning's writer deletes the file
    on start and rewrites it with only the columns this process has logged.

    `resuming`: keep the rows before `resume_step`, or when that is unknown (`ckpt_path=last`) the rows
    before the first step this run logs; otherwise the old file is replaced, as in Lightning.
    """

    def __init__(self, log_dir: str, resuming: bool = False, resume_step: int | None = None) -> None:
        self.resuming, self.resume_step = resuming, resume_step  # read by the base's __init__
        super().__init__(log_dir=log_dir)

    @override
    def _check_log_dir_exists(self) -> None:
        if not self.resuming:
            super()._check_log_dir_exists()  # a new run: Lightning's warning, the old metrics deleted
        elif self.resume_step is not None:
            self._keep_rows_before(self.resume_step)

    def _keep_rows_before(self, step: int) -> None:
        if not self._fs.isfile(self.metrics_file_path):
            return
        header, rows = self._read()
        kept = [row for row in rows if int(float(row["step"])) < step]
        if len(kept) < len(rows):
            log.info(
                "metrics.csv: %d rows logged after the resumed checkpoint dropped", len(rows) - len(kept)
            )
            self._write(header, kept)

    @override
    def save(self) -> None:
        if not self.metrics:
            return
        if self.resuming and self.resume_step is None:  # the resumed run's first rows: the cut is here
            self.resume_step = min(int(row["step"]) for row in self.metrics)
            self._keep_rows_before(self.resume_step)
        header = self._header()
        keys = set(header).union(self.metrics_keys, *self.metrics)
        if header and keys == set(header):
            self.metrics_keys = header
        else:  # another process (ddp_spawn's fit, the run before a resume) may have written other columns
            self.metrics_keys = sorted(keys)
            if header:
                self._write(self.metrics_keys, self._read()[1])
        with self._fs.open(self.metrics_file_path, mode="a" if header else "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=self.metrics_keys)
            if not header:
                writer.writeheader()
            writer.writerows(self.metrics)
        self.metrics = []

    def _header(self) -> list[str]:
        if not self._fs.isfile(self.metrics_file_path):
            return []
        with self._fs.open(self.metrics_file_path, "r", newline="") as file:
            return next(csv.reader(file), [])

    def _read(self) -> tuple[list[str], list[dict[str, str]]]:
        with self._fs.open(self.metrics_file_path, "r", newline="") as file:
            reader = csv.DictReader(file)
            return list(reader.fieldnames or []), list(reader)

    def _write(self, header: list[str], rows: list[dict[str, str]]) -> None:
        with self._fs.open(self.metrics_file_path, "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=header)
            writer.writeheader()
            writer.writerows(rows)


class CSVLogger(LightningCSVLogger):
    """Lightning's CSVLogger with one history per run directory.

    `resume_from`: the checkpoint this run resumes (or `last`); the rows logged before it are kept, those a
    killed run logged after it are dropped. Without it an existing `metrics.csv` is replaced, as in Lightning.
    """

    def __init__(
        self,
        save_dir: str | Path,
        name: str | None = "lightning_logs",
        version: int | str | None = None,
        prefix: str = "",
        flush_logs_every_n_steps: int = 100,
        resume_from: str | None = None,
    ) -> None:
        super().__init__(save_dir, name, version, prefix, flush_logs_every_n_steps)
        self.resume_from = resume_from

    @property
    @override
    @rank_zero_experiment
    def experiment(self) -> ContinuedWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            step = first_resumed_step(self.resume_from) if self.resume_from is not None else None
            self._experiment = ContinuedWriter(self.log_dir, self.resume_from is not None, step)
        return self._experiment
