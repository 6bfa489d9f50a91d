"""Real-image statistics of a torchmetrics FID, kept and put back so a fixed validation set is read once."""

import torch
from torchmetrics.image.fid import FrechetInceptionDistance

REAL_STATES = ("real_features_sum", "real_features_cov_sum", "real_features_num_samples")


def real_statistics(fid: FrechetInceptionDistance) -> dict[str, torch.Tensor]:
    """A copy of what `fid` has accumulated from real images on this process (before any DDP sync)."""
    return {name: getattr(fid, name).clone() for name in REAL_STATES}


def restore_real_statistics(fid: FrechetInceptionDistance, statistics: dict[str, torch.Tensor]) -> None:
    """Put back real-image statistics taken by `real_statistics`, in place of reading the images again."""
    for name, value in statistics.items():
        setattr(fid, name, value.clone())
