"""Unidirectional LSTM encoder."""

import torch
from torch import nn

from flik_lab.models.text._masking import gather_last


class LSTMEncoder(nn.Module):
    """Stacked `nn.LSTM`; features are the output at each row's last real token."""

    def __init__(self, embed_dim: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0):
        super().__init__()
        self.out_dim = hidden_size
        # the additive cell update c_t = f_t * c_{t-1} + i_t * g_t is the "gradient highway" through time
        self.lstm = nn.LSTM(
            embed_dim, hidden_size, num_layers, batch_first=True, dropout=dropout if num_layers > 1 else 0.0
        )

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, None]:
        return gather_last(self.lstm(x)[0], lengths), None
