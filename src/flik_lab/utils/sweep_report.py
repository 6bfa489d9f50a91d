"""Hydra callback: a failed job leaves `error.txt` in its directory; a sweep ends by naming its failures.

Hydra's basic sweeper runs every job of the sweep and then raises the first failure (exit code 1),
so the other jobs do run; this callback makes the failures easy to find. A job interrupted by SIGTERM
stops the sweep (exit code 143): the report names it and says that the jobs after it did not run.
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
        self.running: str | None = None  # the job started and not ended: interrupted if set at exit

    def on_job_start(self, config: DictConfig, **kwargs) -> None:
        if config.hydra.mode.name == "MULTIRUN":
            self.running = f"{_job_name(config.hydra)}  [{config.hydra.runtime.output_dir}]"

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        atexit.register(self._summary, Path(config.hydra.sweep.dir))

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs) -> None:
        self.jobs += 1
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
        lines = (
            [f"flik-lab: {len(self.failed)} of {self.jobs} jobs failed:", *self.failed] if self.failed else []
        )
        if self.running is not None:  # the process is exiting inside a job: SIGTERM (or another exit)
            lines.append(
                f"flik-lab: {self.running} was interrupted; the sweep stopped, later jobs did not run"
            )
        if not lines:
            return
        print("\n".join(lines))
        (sweep_dir / "failed_jobs.txt").write_text("\n".join(lines) + "\n")


def _job_name(hydra: DictConfig) -> str:
    return f"job {hydra.job.get('num', '-')} ({' '.join(hydra.overrides.task)})"
