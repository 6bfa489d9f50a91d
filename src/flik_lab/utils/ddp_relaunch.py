"""Start extra DDP ranks as this one Hydra job, not as the whole command line (Lightning #11300).

Lightning starts ranks 1..N-1 by re-running `sys.argv`: under `flik-lab train -m ...` every rank
would start its own sweep and its own output directories. Here a rank re-runs the module with this
job's overrides only, in RUN mode, in this job's output directory. `SpawnDDPStrategy` is ddp_spawn
whose fit hands its loop counters back to the main process and whose processes log and filter warnings as
the job does; `end_other_ranks` reaps either kind of rank.
"""

import multiprocessing
import os
import subprocess
import sys
import threading
import warnings
from functools import partial

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.strategies import DDPStrategy
from lightning.pytorch.strategies.launchers import subprocess_script
from lightning.pytorch.strategies.launchers.multiprocessing import _MultiProcessingLauncher
from lightning.pytorch.trainer.states import TrainerFn

from flik_lab.utils.job_logging import job_logging_config, log_as_rank


def single_job_command(module: str, local_rank: int) -> tuple[list[str], str]:
    """The command line and working directory of rank `local_rank` of the current Hydra job."""
    hydra_cfg = HydraConfig.get()
    out = hydra_cfg.runtime.output_dir
    command = [sys.executable, "-m", module, *hydra_cfg.overrides.task]
    command += [
        "hydra.mode=RUN",  # a config may set MULTIRUN; a rank must never sweep
        f'hydra.run.dir="{out}"',
        "hydra.output_subdir=null",  # .hydra/ is rank 0's
        f"hydra.job.name={hydra_cfg.job.name}_rank{local_rank}",
        f'hydra.job_logging.handlers.file.filename="{out}/rank{local_rank}.log"',
        "hydra.job_logging.root.handlers=[file]",  # the console shows rank 0's lines only
    ]
    return command, hydra_cfg.runtime.cwd


def relaunch_ranks_as_this_job(module: str) -> None:
    """Make Lightning's script launcher start the other ranks with `single_job_command`."""
    subprocess_script._hydra_subprocess_cmd = partial(single_job_command, module)


class _FitCountersBack(_MultiProcessingLauncher):
    """Lightning's spawn launcher, also returning the fit loop's state (epoch, step) from rank 0; its
    processes start with the job's warning filters and logging, not Python's defaults."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._warning_filters = list(warnings.filters)
        self._job_logging = job_logging_config()

    def _wrapping_function(self, process_idx: int, *args, **kwargs) -> None:
        warnings.filters[:] = self._warning_filters
        if self._job_logging is not None:
            log_as_rank(self._job_logging, process_idx)
        super()._wrapping_function(process_idx, *args, **kwargs)

    def get_extra_results(self, trainer: L.Trainer) -> dict:
        return {**super().get_extra_results(trainer), "fit_loop": trainer.fit_loop.state_dict()}

    def update_main_process_results(self, trainer: L.Trainer, extra: dict) -> None:
        super().update_main_process_results(trainer, extra)
        if trainer.state.fn == TrainerFn.FITTING:
            trainer.fit_loop.load_state_dict(extra["fit_loop"])


class SpawnDDPStrategy(DDPStrategy):
    """`ddp_spawn` after which the main process knows the fit's epoch and step: the test spawned next logs
    after the fit's rows, not at step 0 of epoch 0."""

    def _configure_launcher(self) -> None:
        super()._configure_launcher()
        if isinstance(self._launcher, _MultiProcessingLauncher):
            self._launcher = _FitCountersBack(self, start_method=self._start_method)


def reap(proc: subprocess.Popen | multiprocessing.process.BaseProcess, kill: bool) -> None:
    """Wait for a rank (killed first if `kill`): a `Popen` (ddp) or a multiprocessing process (ddp_spawn)."""
    if isinstance(proc, multiprocessing.process.BaseProcess):
        if kill and proc.is_alive():
            proc.kill()
        proc.join(timeout=60)
        if proc.is_alive():
            proc.kill()
            proc.join()
        return
    if kill and proc.poll() is None:
        proc.kill()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def end_other_ranks(trainer: L.Trainer, failed: bool) -> None:
    """After a job: stop Lightning's child-process observer, reap this job's ranks, end the process group.

    The observer kills the main process when a rank exits non-zero; in a sweep that would take the
    next jobs down with a failed one. Ranks of a failed job may hang in a collective: they are killed.
    """
    for thread in threading.enumerate():
        if thread.name == "child-process-observer":
            thread._child_processes = []  # nothing left to watch: its next check ends the thread
    procs = getattr(getattr(trainer.strategy, "launcher", None), "procs", [])
    for proc in procs:
        reap(proc, kill=failed)
    if procs:  # the launcher exported these for its children; left set, the next job would not launch any
        for name in ("LOCAL_RANK", "NODE_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
            os.environ.pop(name, None)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        # Lightning leaves the group up: the next job of the sweep would sync its metrics with dead ranks
        torch.distributed.destroy_process_group()
