"""Load flik-lab checkpoints weights-only and rebuild the model they were trained with (untrusted input)."""

import pickle
from collections.abc import Iterable
from pathlib import Path

import hydra
import lightning as L
import torch
from hydra.utils import get_object

from flik_lab.utils.errors import InputError
from flik_lab.utils.stored_config import stored_config


def load_checkpoint(path: str | Path, key: str = "ckpt_path") -> dict:
    """The checkpoint dict, loaded with `weights_only=True` (no arbitrary code from the file); `key` is the
    command-line key that named it, for errors."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{key}={path} does not exist; expected a .ckpt written by train")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # torch suggests weights_only=False, which runs the file's code
        lines = [line.strip() for line in str(exc).splitlines() if "GLOBAL" in line]
        refused = (lines or [str(exc)])[0].split(". ")[0]
        raise InputError(
            f"{key}={path} is not a readable checkpoint: it holds objects a weights-only load refuses "
            f"({refused}); flik-lab never runs code from a checkpoint"
        ) from exc
    except Exception as exc:
        raise InputError(f"{key}={path} is not a readable checkpoint: {exc}") from exc
    if not isinstance(ckpt, dict) or "flik_lab" not in ckpt or "state_dict" not in ckpt:
        raise InputError(f"{key}={path} was not written by `flik-lab train` (no stored config)")
    return ckpt


def model_from_checkpoint(
    ckpt: dict, source: str = "checkpoint", trusted: Iterable[str] = (), expect: type | None = None
) -> L.LightningModule:
    """Build the stored model config (flik-lab's classes and `trusted` ones only; an `expect` subclass if
    given) and load the stored weights into it; `source` ("ckpt_path=...") names the file in errors."""
    node = stored_config(ckpt, "model", source, trusted)
    if expect is not None:
        cls, name = get_object(node._target_), f"{expect.__module__}.{expect.__qualname__}"
        if not (isinstance(cls, type) and issubclass(cls, expect)):
            raise InputError(
                f"{source} holds a {node._target_}, not a {expect.__name__} ({name}): "
                f"a {expect.__name__} checkpoint is expected"
            )
    model = hydra.utils.instantiate(node)
    model.load_state_dict(ckpt["state_dict"])
    return model.eval()
