"""Helpers shared by the sequence encoders: rows are padded at the end, `lengths` counts real tokens."""

import torch


def padding_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """`(N, max_len)` bool mask, True at padding positions (t >= length)."""
    positions = torch.arange(max_len, device=lengths.device)
    return positions.unsqueeze(0) >= lengths.unsqueeze(1)


def gather_last(outputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Per-position outputs `(N, T, D)` -> `(N, D)` at each row's last real token (index length - 1)."""
    rows = torch.arange(outputs.shape[0], device=outputs.device)
    return outputs[rows, lengths.to(outputs.device) - 1]
