"""W&B logger that goes offline by itself, groups a sweep's jobs and continues a resumed run."""

import netrc
import os
import socket
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.pytorch.loggers import WandbLogger

from flik_lab.utils.checkpoint import read_checkpoint
from flik_lab.utils.lightning_internals import without_anonymous_setting


def wandb_reachable(timeout: float = 2.0) -> bool:
    """True when an API key is configured and api.wandb.ai answers on port 443."""
    if not os.environ.get("WANDB_API_KEY"):
        try:
            if netrc.netrc().authenticators("api.wandb.ai") is None:
                return False
        except (FileNotFoundError, netrc.NetrcParseError):
            return False
    try:
        socket.create_connection(("api.wandb.ai", 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def sweep_names() -> dict[str, str]:
    """Group (the sweep: task name and start time) and name (the job's overrides) of a Hydra job."""
    if not HydraConfig.initialized():
        return {}
    hydra_cfg = HydraConfig.get()
    names = {}
    if hydra_cfg.mode == RunMode.MULTIRUN:
        names["group"] = f"{hydra_cfg.job.name}-{Path(hydra_cfg.sweep.dir).name}"
    overrides = hydra_cfg.job.override_dirname  # "model.lr_g=1e-4,seed=2"
    if overrides:
        names["name"] = overrides.replace(",", " ")
    return names


def stored_run_id(ckpt_path: str | None) -> str | None:
    """The W&B run id that `flik-lab train` stored in a checkpoint, if any."""
    if not ckpt_path or not Path(ckpt_path).is_file():
        return None
    return read_checkpoint(ckpt_path).wandb_run_id


def wandb_logger(offline: bool | None = None, resume_from: str | None = None, **kwargs) -> WandbLogger:
    """A `WandbLogger`; offline when W&B is unreachable, named after the sweep and job by default.

    `resume_from`: a checkpoint of an earlier run; its W&B run is continued (same id).
    """
    if offline is None:
        offline = os.environ.get("WANDB_MODE") in ("offline", "dryrun") or not wandb_reachable()
    for key, value in sweep_names().items():
        if kwargs.get(key) is None:
            kwargs[key] = value
    run_id = kwargs.get("id") or stored_run_id(resume_from)
    if run_id is not None:
        kwargs.update(id=run_id, resume="allow")
    if offline and kwargs.get("log_model"):
        # Lightning refuses log_model offline, as it cannot upload; W&B itself records the checkpoints as
        # artifacts of the offline run, and `wandb sync` uploads them with it
        offline, kwargs["mode"] = False, "offline"
    return without_anonymous_setting(WandbLogger(offline=offline, **kwargs))
