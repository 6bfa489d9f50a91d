"""Hydra callback: a failed job leaves `error.txt` in its directory; a sweep ends by naming its failures.

Hydra's basic sweeper runs every job of the sweep and then raises the first failure (exit code 1),
so the other jobs do run; this callback makes the failures easy to find. SIGTERM stops the sweep (exit code
143, `flik_lab.utils.sweep_sigterm`): the report names each interrupted job and says that later jobs did not
run. A job interrupted in a worker process leaves `interrupted.txt` in its directory for the report.
"""

import atexit
import logging
import os
import time
import traceback
from pathlib import Path

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from hydra.utils import get_method
from omegaconf import DictConfig

from flik_lab.utils import sweep_sigterm

log = logging.getLogger(__name__)


class SweepReport(Callback):
    """Writes each failed job's traceback; at exit of a multirun prints the table of its jobs (when `table`
    names a function from a sweep's folder to its text, e.g. `flik-lab compare`'s) and the failed jobs."""

    def __init__(self, table: str | None = None) -> None:
        self.table = table  # a dotted name: a command's function, named by its config
        self._table = None
        self.failed: list[str] = []
        self.jobs = 0
        self.running: str | None = None  # the job started and not ended: interrupted if set at exit
        self.sweep_pid: int | None = None  # set in the sweep's process; the jobs' processes get a copy
        self.started = 0.0

    def on_job_start(self, config: DictConfig, **kwargs) -> None:
        if config.hydra.mode.name == "MULTIRUN":
            self.running = f"{_job_name(config.hydra)}  [{config.hydra.runtime.output_dir}]"
            sweep_sigterm.start_job(self.sweep_pid)
            Path(config.hydra.runtime.output_dir, "interrupted.txt").unlink(missing_ok=True)  # resumed

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        self.sweep_pid, self.started = os.getpid(), time.time()
        self._table = get_method(self.table) if self.table else None  # no import can run at exit
        sweep_sigterm.start_sweep()
        atexit.register(self._summary, Path(config.hydra.sweep.dir))

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        sweep_sigterm.end_sweep()

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs) -> None:
        self.jobs += 1
        if sweep_sigterm.interrupted():  # in a worker: the sweep's process reads the file at its end
            Path(config.hydra.runtime.output_dir, "interrupted.txt").write_text(f"{self.running}\n")
        self.running = None
        if job_return.status != JobStatus.FAILED:
            return
        error = job_return._return_value  # the exception (`.return_value` would re-raise it)
        out = Path(job_return.hydra_cfg.hydra.runtime.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "error.txt").write_text("".join(traceback.format_exception(error)))
        name = _job_name(job_return.hydra_cfg.hydra)
        self.failed.append(f"{name}: {type(error).__name__}: {error}  [{out / 'error.txt'}]")
        log.error("%s failed: %s", name, error)

    def _summary(self, sweep_dir: Path) -> None:
        table = self._table(sweep_dir) if self._table and not sweep_sigterm.received() else ""
        if table:
            print(table)
        lines = (
            [f"flik-lab: {len(self.failed)} of {self.jobs} jobs failed:", *self.failed] if self.failed else []
        )
        interrupted = [self.running] if self.running is not None else []  # exiting inside a job
        if sweep_sigterm.received():
            interrupted += [path.read_text().strip() for path in self._interrupted_in_workers(sweep_dir)]
        lines += [
            f"flik-lab: {job} was interrupted; the sweep stopped, later jobs did not run"
            for job in interrupted
        ]
        if sweep_sigterm.received() and not interrupted:
            lines.append("flik-lab: the sweep stopped on SIGTERM; later jobs did not run")
        if not lines:
            return
        print("\n".join(lines))
        (sweep_dir / "failed_jobs.txt").write_text("\n".join(lines) + "\n")

    def _interrupted_in_workers(self, sweep_dir: Path) -> list[Path]:
        """The `interrupted.txt` files of this sweep's workers (not an older sweep's), job 9 before job 10."""
        files = [path for path in sweep_dir.rglob("interrupted.txt") if path.stat().st_mtime >= self.started]
        return sorted(files, key=lambda path: (len(str(path)), str(path)))


def _job_name(hydra: DictConfig) -> str:
    return f"job {hydra.job.get('num', '-')} ({' '.join(hydra.overrides.task)})"
