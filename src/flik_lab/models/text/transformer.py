"""Pre-LayerNorm Transformer encoder with CLS or mean pooling, optionally after a local convolution."""

import math

import torch
from torch import nn

from flik_lab.models.text._masking import padding_mask
from flik_lab.utils.errors import InputError

POOLINGS = ("cls", "mean")


def sinusoidal_encoding(max_len: int, dim: int) -> torch.Tensor:
    """`(max_len, dim)` table: PE(p, 2i) = sin(p / 10000^(2i/d)), PE(p, 2i+1) = cos(p / 10000^(2i/d))."""
    positions = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
    frequencies = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(max_len, dim)
    table[:, 0::2] = torch.sin(positions * frequencies)
    table[:, 1::2] = torch.cos(positions * frequencies[: dim // 2])
    return table


class TransformerEncoder(nn.Module):
    """Pre-LN `nn.TransformerEncoder` over embedded tokens; pools a CLS token or the mean of real tokens."""

    def __init__(
        self,
        embed_dim: int,
        num_heads: int = 4,
        num_layers: int = 2,
        ff_dim: int | None = None,
        dropout: float = 0.1,
        max_len: int = 2048,
        pooling: str = "cls",
        conv_kernel: int | None = None,
    ):
        super().__init__()
        if pooling not in POOLINGS:
            raise InputError(f"pooling={pooling!r}; expected one of {POOLINGS}")
        self.pooling = pooling
        if conv_kernel is not None and (conv_kernel < 1 or conv_kernel % 2 == 0):
            raise InputError(f"conv_kernel={conv_kernel!r}; expected an odd kernel size (3) or null")
        # each token's embedding plus a convolution over its neighbours (as Conformer does): without it a
        # small encoder trained on little data never ties "not" to the next word (bench/RESULTS.md)
        self.conv = (
            None if conv_kernel is None else nn.Conv1d(embed_dim, embed_dim, conv_kernel, padding="same")
        )
        self.max_len = max_len
        self.out_dim = embed_dim
        self.register_buffer("positional", sinusoidal_encoding(max_len, embed_dim), persistent=False)
        if pooling == "cls":
            self.cls = nn.Parameter(torch.randn(embed_dim) * 0.02)
        self.dropout = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(
            embed_dim,
            num_heads,
            ff_dim or 4 * embed_dim,
            dropout,
            batch_first=True,
            norm_first=True,
        )
        # pre-LN leaves the residual stream unnormalised, hence the final LayerNorm
        self.encoder = nn.TransformerEncoder(
            layer, num_layers, norm=nn.LayerNorm(embed_dim), enable_nested_tensor=False
        )

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, t, _ = x.shape
        lengths = lengths.to(x.device)
        if t + (self.pooling == "cls") > self.max_len:
            raise InputError(f"sequence of {t} tokens exceeds max_len={self.max_len}")
        pad = padding_mask(lengths, t)
        # padding is masked out of attention, but 0 * inf garbage would still be NaN
        x = x.masked_fill(pad.unsqueeze(-1), 0.0)
        if self.conv is not None:  # padding is zeros, as the convolution's own: extra padding changes nothing
            x = x + self.conv(x.transpose(1, 2)).transpose(1, 2).masked_fill(pad.unsqueeze(-1), 0.0)
        x = x + self.positional[:t].to(x.dtype)
        if self.pooling == "cls":
            x = torch.cat([self.cls.expand(n, 1, -1), x], dim=1)
            pad = torch.cat([pad.new_zeros(n, 1), pad], dim=1)
        h = self.dropout(x)
        # the layers are run one by one (as nn.TransformerEncoder does) to keep the last layer's input
        for layer in self.encoder.layers:
            last_input = h
            h = layer(h, src_key_padding_mask=pad)
        h = self.encoder.norm(h)

        if self.pooling == "mean":
            real = (~pad).to(h.dtype)
            weights = real / lengths.unsqueeze(1).to(h.dtype)
            return torch.einsum("nt,ntd->nd", weights, h.masked_fill(pad.unsqueeze(-1), 0.0)), weights

        last = self.encoder.layers[-1]
        normed = last.norm1(last_input)
        _, attention = last.self_attn(
            normed[:, :1], normed, normed, key_padding_mask=pad, need_weights=True, average_attn_weights=True
        )
        weights = attention[:, 0, 1:]  # CLS query -> tokens, CLS column dropped
        weights = weights / weights.sum(dim=1, keepdim=True).clamp_min(1e-12)
        return h[:, 0], weights
