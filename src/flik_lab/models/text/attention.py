"""BiLSTM with additive (Bahdanau-style) attention pooling; the weights are returned for plotting."""

import torch
from torch import nn

from flik_lab.models.text._masking import padding_mask
from flik_lab.models.text.bilstm import BiLSTMEncoder


class AttentionEncoder(nn.Module):
    """BiLSTM states pooled by additive attention; returns features and the weights over positions."""

    def __init__(
        self,
        embed_dim: int,
        hidden_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        attention_dim: int | None = None,
        merge: str = "add",
    ):
        super().__init__()
        self.bilstm = BiLSTMEncoder(embed_dim, hidden_size, num_layers, dropout, merge)
        self.out_dim = self.bilstm.out_dim
        attention_dim = attention_dim or self.out_dim
        self.project = nn.Linear(self.out_dim, attention_dim)
        self.score = nn.Linear(attention_dim, 1, bias=False)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pad = padding_mask(lengths.to(x.device), x.shape[1])
        # zeroed so that 0 * (whatever the LSTM produced at padding) stays exactly 0 in the sum
        states = self.bilstm.sequence(x, lengths).masked_fill(pad.unsqueeze(-1), 0.0)
        # score_t = v^T tanh(W h_t + b), -inf at padding
        scores = self.score(torch.tanh(self.project(states))).squeeze(-1).masked_fill(pad, float("-inf"))
        weights = scores.softmax(dim=1)
        # features = sum_t a_t h_t
        return torch.einsum("nt,ntd->nd", weights, states), weights
