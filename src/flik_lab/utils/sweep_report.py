"""Hydra callback: a failed job leaves `error.txt` in its directory; a sweep ends by naming its failures.

Hydra's basic sweeper runs every job of the sweep and then raises the first failure (exit code 1),
so the other jobs do run; this callback makes the failures easy to find.
"""

import atexit
import logging
import traceback
from pathlib import Path

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger(__name__)


class SweepReport(Callback):
    """Writes each failed job's traceback; at exit of a multirun prints the list of failed jobs."""

    def __init__(self) -> None:
        self.failed: list[str] = []
        self.jobs = 0

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        atexit.register(self._summary, Path(config.hydra.sweep.dir))

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs) -> None:
        self.jobs += 1
        if job_return.status != JobStatus.FAILED:
            return
        error = job_return._return_value  # the exception (`.return_value` would re-raise it)
        out = Path(job_return.hydra_cfg.hydra.runtime.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "error.txt").write_text("".join(traceback.format_exception(error)))
        name = f"job {job_return.hydra_cfg.hydra.job.get('num', '-')} ({' '.join(job_return.overrides)})"
        self.failed.append(f"{name}: {type(error).__name__}: {error}  [{out / 'error.txt'}]")
        log.error("%s failed: %s", name, error)

    def _summary(self, sweep_dir: Path) -> None:
        if not self.failed:
            return
        lines = [f"flik-lab: {len(self.failed)} of {self.jobs} jobs failed:", *self.failed]
        print("\n".join(lines))
        (sweep_dir / "failed_jobs.txt").write_text("\n".join(lines) + "\n")
