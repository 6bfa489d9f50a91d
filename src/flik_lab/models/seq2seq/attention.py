"""Attention of a decoder state over encoder states: additive (Bahdanau) and multiplicative (Luong)."""

import torch
from torch import nn

from flik_lab.utils.errors import InputError

LUONG_KINDS = ("dot", "general")


def attend(scores: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores `(N, S)` -> context `(N, Dk)` = sum_s a_s k_s and weights a = softmax(scores), 0 at padding."""
    weights = scores.masked_fill(mask, float("-inf")).softmax(dim=-1)
    return torch.einsum("ns,nsd->nd", weights, keys), weights


class AdditiveAttention(nn.Module):
    """Bahdanau: score(q, k_s) = v^T tanh(W q + U k_s); `U k` is computed once per sentence by `prepare`."""

    def __init__(self, query_dim: int, key_dim: int, attention_dim: int | None = None):
        super().__init__()
        attention_dim = attention_dim or key_dim
        self.query = nn.Linear(query_dim, attention_dim, bias=False)
        self.key = nn.Linear(key_dim, attention_dim)
        self.score = nn.Linear(attention_dim, 1, bias=False)

    def prepare(self, keys: torch.Tensor) -> torch.Tensor:
        """`U k_s` for every source position, `(N, S, attention_dim)`: independent of the decoder step."""
        return self.key(keys)

    def forward(
        self,
        query: torch.Tensor,
        keys: torch.Tensor,
        mask: torch.Tensor,
        prepared: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        prepared = self.prepare(keys) if prepared is None else prepared
        scores = self.score(torch.tanh(self.query(query).unsqueeze(1) + prepared)).squeeze(-1)
        return attend(scores, keys, mask)


class LuongAttention(nn.Module):
    """Luong: score(q, k_s) = q^T k_s (dot, sizes must match) or q^T W k_s (general; `W k` prepared once)."""

    def __init__(self, query_dim: int, key_dim: int, kind: str = "general"):
        super().__init__()
        if kind not in LUONG_KINDS:
            raise InputError(f"kind={kind!r}; expected one of {LUONG_KINDS}")
        if kind == "dot" and query_dim != key_dim:
            raise InputError(f"kind='dot' needs query_dim == key_dim, got {query_dim} and {key_dim}")
        self.kind = kind
        self.weight = nn.Linear(key_dim, query_dim, bias=False) if kind == "general" else None

    def prepare(self, keys: torch.Tensor) -> torch.Tensor:
        """The keys as the query is compared with them, `(N, S, query_dim)`."""
        return keys if self.weight is None else self.weight(keys)

    def forward(
        self,
        query: torch.Tensor,
        keys: torch.Tensor,
        mask: torch.Tensor,
        prepared: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        prepared = self.prepare(keys) if prepared is None else prepared
        scores = torch.einsum("nd,nsd->ns", query, prepared)
        return attend(scores, keys, mask)
