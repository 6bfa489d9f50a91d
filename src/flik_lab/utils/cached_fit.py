"""Fit a small network once per training data and settings; its weights cached on disk."""

import hashlib
import os
from pathlib import Path

import torch
from torch import nn


def fingerprint(*tensors: torch.Tensor, settings: str) -> str:
    """A short hash of the tensors' shapes, a strided sample of their values, and `settings`."""
    digest = hashlib.sha256()
    for values in tensors:
        digest.update(str(tuple(values.shape)).encode())
        digest.update(values[:: max(1, len(values) // 64)].float().cpu().numpy().tobytes())
    digest.update(settings.encode())
    return digest.hexdigest()[:16]


def cached_fit(path: Path, model: nn.Module, fit) -> nn.Module:
    """`model` with the weights cached at `path`, else those of `fit()` (a fitted model), then cached there;
    frozen, in eval mode."""
    if path.is_file():
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return model.eval().requires_grad_(False)
    model = fit()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # DDP ranks may fit side by side
    torch.save(model.state_dict(), tmp)
    tmp.replace(path)
    return model.eval().requires_grad_(False)
