"""A job's log records through Hydra's handlers: each once on the console, all of them in its log file."""

import copy
import logging
import logging.config
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

# loggers configured in conf/hydra/default.yaml to write to the job's log file and not to the console
FILE_ONLY = "flik_lab.log_file"


def lightning_logs_through_hydra() -> None:
    """Take the console handlers off Lightning's loggers and let their records reach the root logger.

    `import lightning` adds a stderr handler to `lightning`, and `lightning.pytorch`/`lightning.fabric` add
    non-propagating ones when imported before Hydra configured logging (a relaunched DDP rank): each line
    would print twice, or never reach the job's log file.
    """
    import lightning  # noqa: F401  (its import adds the handlers removed here)

    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.propagate = True


def log_file() -> str | None:
    """The job's log file, where `FILE_ONLY`'s records go; None when Hydra's job logging writes none."""
    handlers = logging.getLogger(FILE_ONLY).handlers
    return next((h.baseFilename for h in handlers if isinstance(h, logging.FileHandler)), None)


def job_logging_config() -> dict | None:
    """This Hydra job's resolved `hydra.job_logging` (None outside a Hydra job), for processes it spawns."""
    if not HydraConfig.initialized():
        return None
    return OmegaConf.to_container(HydraConfig.get().job_logging, resolve=True)


def log_as_rank(config: dict, rank: int) -> None:
    """Logging of a spawned DDP process, from its job's `config`: rank 0 as the job itself; rank N > 0 into
    `rankN.log` beside the job's log file only, as a relaunched rank (the console shows rank 0's lines)."""
    config = copy.deepcopy(config)
    if rank > 0:
        file = config["handlers"]["file"]
        file["filename"] = str(Path(file["filename"]).with_name(f"rank{rank}.log"))
        config["root"]["handlers"] = ["file"]
    logging.config.dictConfig(config)
    lightning_logs_through_hydra()
