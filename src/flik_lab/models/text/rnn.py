"""The course's vanilla RNN: a teaching cell unrolled in Python, and the fast `nn.RNN` equivalent."""

from collections.abc import Sequence

import torch
from torch import nn

from flik_lab.models.text._masking import gather_last
from flik_lab.utils.errors import InputError

IMPLEMENTATIONS = ("teaching", "cudnn")


class VanillaRNNCell(nn.Module):
    """One step `h_t = tanh(W [h_{t-1}; x_t] + b)` with a single weight matrix over the concatenation."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.linear = nn.Linear(hidden_size + input_size, hidden_size)
        # same init range as nn.RNN, so both implementations start from the same distribution
        bound = hidden_size**-0.5
        nn.init.uniform_(self.linear.weight, -bound, bound)
        nn.init.uniform_(self.linear.bias, -bound, bound)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        # h_t = tanh(W_hh h_{t-1} + W_xh x_t) = tanh(W [h_{t-1}; x_t])
        return torch.tanh(self.linear(torch.cat([h, x], dim=-1)))


def copy_cells_to_rnn(cells: Sequence[VanillaRNNCell], rnn: nn.RNN) -> None:
    """Copy teaching cells (one per layer) into a tanh `nn.RNN` so both compute the same function."""
    if len(cells) != rnn.num_layers or rnn.bidirectional or rnn.nonlinearity != "tanh":
        raise InputError("expected a unidirectional tanh nn.RNN with one layer per cell")
    with torch.no_grad():
        for layer, cell in enumerate(cells):
            hidden = cell.hidden_size
            # W = [W_hh | W_xh] because the cell concatenates [h_{t-1}; x_t]
            getattr(rnn, f"weight_hh_l{layer}").copy_(cell.linear.weight[:, :hidden])
            getattr(rnn, f"weight_ih_l{layer}").copy_(cell.linear.weight[:, hidden:])
            getattr(rnn, f"bias_ih_l{layer}").copy_(cell.linear.bias)
            getattr(rnn, f"bias_hh_l{layer}").zero_()


class RNNEncoder(nn.Module):
    """Stacked vanilla RNN; features are the hidden state at each row's last real token."""

    def __init__(
        self,
        embed_dim: int,
        hidden_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        implementation: str = "cudnn",  # as conf/model/rnn.yaml; "teaching" unrolls the equation
    ):
        super().__init__()
        if implementation not in IMPLEMENTATIONS:
            raise InputError(f"implementation={implementation!r}; expected one of {IMPLEMENTATIONS}")
        self.implementation = implementation
        self.out_dim = hidden_size
        if implementation == "teaching":
            sizes = [embed_dim] + [hidden_size] * (num_layers - 1)
            self.cells = nn.ModuleList(VanillaRNNCell(size, hidden_size) for size in sizes)
            self.dropout = nn.Dropout(dropout)
        else:
            self.rnn = nn.RNN(
                embed_dim,
                hidden_size,
                num_layers,
                nonlinearity="tanh",
                batch_first=True,
                dropout=dropout if num_layers > 1 else 0.0,
            )

    def sequence(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Last layer's hidden state at every position, `(N, T, hidden_size)`."""
        if self.implementation == "cudnn":
            return self.rnn(x)[0]
        for index, cell in enumerate(self.cells):
            if index > 0:
                x = self.dropout(x)  # between layers only, as nn.RNN does
            h = x.new_zeros(x.shape[0], cell.hidden_size)
            steps = []
            for t in range(x.shape[1]):
                h = cell(x[:, t], h)
                steps.append(h)
            x = torch.stack(steps, dim=1)
        return x

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, None]:
        # the RNN is causal, so padding after the last real token cannot reach its state
        return gather_last(self.sequence(x, lengths), lengths), None
