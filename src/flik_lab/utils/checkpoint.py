"""Load flik-lab checkpoints weights-only and rebuild the model (and data) they were trained with."""

from pathlib import Path

import hydra
import lightning as L
import torch
from omegaconf import OmegaConf


def load_checkpoint(path: str | Path) -> dict:
    """The checkpoint dict, loaded with `weights_only=True` (no arbitrary code from the file)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"ckpt_path={path} does not exist; expected a .ckpt written by train")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"ckpt_path={path} is not a readable checkpoint: {exc}") from exc
    if "flik_lab" not in ckpt or "state_dict" not in ckpt:
        raise ValueError(f"ckpt_path={path} was not written by `flik-lab train` (no stored config)")
    return ckpt


def model_from_checkpoint(ckpt: dict) -> L.LightningModule:
    """Instantiate the stored model config and load the stored weights into it."""
    model = hydra.utils.instantiate(OmegaConf.create(ckpt["flik_lab"]["model"]))
    model.load_state_dict(ckpt["state_dict"])
    return model.eval()
