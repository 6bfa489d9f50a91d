"""Start extra DDP ranks as this one Hydra job, not as the whole command line (Lightning #11300).

Lightning starts ranks 1..N-1 by re-running `sys.argv`: under `flik-lab train -m ...` every rank
would start its own sweep and its own output directories. Here a rank re-runs the module with this
job's overrides only, in RUN mode, in this job's output directory.
"""

import os
import subprocess
import sys
import threading
from functools import partial

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.strategies.launchers import subprocess_script


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
    ]
    return command, hydra_cfg.runtime.cwd


def relaunch_ranks_as_this_job(module: str) -> None:
    """Make Lightning's script launcher start the other ranks with `single_job_command`."""
    subprocess_script._hydra_subprocess_cmd = partial(single_job_command, module)


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
        if failed and proc.poll() is None:
            proc.kill()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
    if procs:  # the launcher exported these for its children; left set, the next job would not launch any
        for name in ("LOCAL_RANK", "NODE_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
            os.environ.pop(name, None)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        # Lightning leaves the group up: the next job of the sweep would sync its metrics with dead ranks
        torch.distributed.destroy_process_group()
