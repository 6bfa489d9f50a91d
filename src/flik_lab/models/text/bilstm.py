"""Bidirectional LSTM built from two unidirectional LSTMs, with padding kept out of the backward pass."""

import torch
from torch import nn

from flik_lab.models.text._masking import gather_last
from flik_lab.utils.errors import InputError

MERGES = ("add", "concat")


def reverse_within_lengths(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each row of `x` `(N, T, ...)` over its first `length` positions; padding stays in place."""
    positions = torch.arange(x.shape[1], device=x.device).unsqueeze(0)
    lengths = lengths.to(x.device).unsqueeze(1)
    index = torch.where(positions < lengths, lengths - 1 - positions, positions)
    index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, index)


class BiLSTMEncoder(nn.Module):
    """Forward and backward `nn.LSTM`s whose outputs are added (course default) or concatenated."""

    def __init__(
        self,
        embed_dim: int,
        hidden_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        merge: str = "add",
    ):
        super().__init__()
        if merge not in MERGES:
            raise InputError(f"merge={merge!r}; expected one of {MERGES}")
        self.merge = merge
        self.out_dim = hidden_size if merge == "add" else 2 * hidden_size
        dropout = dropout if num_layers > 1 else 0.0
        # separate stacks: each direction's upper layers see only that direction's lower layers
        self.forward_lstm = nn.LSTM(embed_dim, hidden_size, num_layers, batch_first=True, dropout=dropout)
        self.backward_lstm = nn.LSTM(embed_dim, hidden_size, num_layers, batch_first=True, dropout=dropout)

    def _merge(self, forward: torch.Tensor, backward: torch.Tensor) -> torch.Tensor:
        # course: the two directions' outputs are added; concatenation is the option
        return forward + backward if self.merge == "add" else torch.cat([forward, backward], dim=-1)

    def _directions(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        forward = self.forward_lstm(x)[0]
        # reversing within lengths keeps padding at the end, so the backward LSTM reads it only last
        backward = self.backward_lstm(reverse_within_lengths(x, lengths))[0]
        return forward, reverse_within_lengths(backward, lengths)

    def sequence(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Merged states at every position, `(N, T, out_dim)`; values at padding positions are arbitrary."""
        return self._merge(*self._directions(x, lengths))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, None]:
        forward, backward = self._directions(x, lengths)
        # backward state at position 0 has read the whole row
        return self._merge(gather_last(forward, lengths), backward[:, 0]), None
