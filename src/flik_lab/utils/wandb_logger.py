"""W&B logger that goes offline by itself when there is no API key or no network."""

import netrc
import os
import socket

from lightning.pytorch.loggers import WandbLogger


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


def wandb_logger(offline: bool | None = None, **kwargs) -> WandbLogger:
    """A `WandbLogger`; `offline=None` means offline exactly when W&B cannot be reached."""
    if offline is None:
        offline = os.environ.get("WANDB_MODE") in ("offline", "dryrun") or not wandb_reachable()
    return WandbLogger(offline=offline, **kwargs)
