"""`flik-lab train [overrides] [-m]`: fit and test a model in each Hydra job (see `flik_lab.training`)."""

import logging

from lightning.pytorch.utilities.rank_zero import rank_zero_only
from omegaconf import DictConfig

from flik_lab.callbacks.preemption import RunInterrupted
from flik_lab.commands.app import run_command
from flik_lab.training import train
from flik_lab.utils.config_tree import config_tree
from flik_lab.utils.ddp_relaunch import relaunch_ranks_as_this_job
from flik_lab.utils.job_logging import FILE_ONLY, log_file

log = logging.getLogger(__name__)
MODULE = "flik_lab.commands.train"  # what DDP ranks > 0 run: `python -m MODULE <this job's overrides>`


def train_and_report(cfg: DictConfig) -> None:
    """Train; print the run directory, or after SIGTERM how to resume."""
    try:
        train(cfg)
    except RunInterrupted as exc:
        resume = f"resume with ckpt_path={exc.checkpoint}" if exc.checkpoint else "no checkpoint was saved"
        log.error("run interrupted by SIGTERM (%s): %s", resume, cfg.paths.output_dir)
        print(f"flik-lab: run interrupted by SIGTERM; {resume}")
        raise
    if rank_zero_only.rank == 0:  # DDP ranks > 0 run this command too
        print(f"flik-lab: run written to {cfg.paths.output_dir}")


def run(cfg: DictConfig) -> None:
    relaunch_ranks_as_this_job(MODULE)  # Lightning's script launcher would re-run the whole sweep
    if rank_zero_only.rank == 0:
        logging.getLogger(FILE_ONLY).info("resolved config:\n%s", config_tree(cfg))
        if log_file() is not None:
            log.info("resolved config: its tree is in %s", log_file())
    train_and_report(cfg)


def main() -> None:
    run_command("train", run)


if __name__ == "__main__":
    main()
