"""Pre-LN transformer encoder-decoder on SDPA; one decoder layer's cross-attention weights are returned."""

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from flik_lab.models.text._masking import padding_mask
from flik_lab.models.text.transformer import sinusoidal_encoding
from flik_lab.utils.errors import InputError

ATTENTION_HEADS = ("mean", "each")
KeysValues = tuple[torch.Tensor, torch.Tensor]  # each (N, heads, length, head_dim)


class MultiHeadAttention(nn.Module):
    """Scaled dot-product attention over several heads; keys/values projected apart so they can be cached."""

    def __init__(self, d_model: int, num_heads: int, dropout: float):
        super().__init__()
        if d_model % num_heads:
            raise InputError(f"d_model={d_model} is not a multiple of num_heads={num_heads}")
        self.num_heads, self.dropout = num_heads, dropout
        self.query = nn.Linear(d_model, d_model)
        self.key_value = nn.Linear(d_model, 2 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.shape[0], x.shape[1], self.num_heads, -1).transpose(1, 2)

    def keys_values(self, x: torch.Tensor) -> KeysValues:
        key, value = self.key_value(x).chunk(2, dim=-1)
        return self._split(key), self._split(value)

    def forward(
        self,
        x: torch.Tensor,
        keys_values: KeysValues,
        allowed: torch.Tensor | None = None,
        causal: bool = False,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """`x` `(N, T, d)` attends to `keys_values`; `allowed` `(N, 1, 1, S)` is False at padding.
        Returns the output and, if asked, the weights `(N, heads, T, S)` (computed explicitly, else SDPA)."""
        query, (key, value) = self._split(self.query(x)), keys_values
        dropout = self.dropout if self.training else 0.0
        weights = None
        if need_weights:
            scores = query @ key.transpose(-2, -1) / math.sqrt(query.shape[-1])
            if causal:
                allowed = torch.ones(scores.shape[-2:], dtype=torch.bool, device=x.device).tril()
            if allowed is not None:
                scores = scores.masked_fill(~allowed, float("-inf"))
            weights = scores.softmax(dim=-1)
            out = F.dropout(weights, dropout, self.training) @ value
        else:
            out = F.scaled_dot_product_attention(query, key, value, allowed, dropout, is_causal=causal)
        return self.out(out.transpose(1, 2).flatten(2)), weights


def feed_forward(d_model: int, ff_dim: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(d_model, ff_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(ff_dim, d_model)
    )


class EncoderLayer(nn.Module):
    """x + SelfAttention(LN(x)), then x + FF(LN(x)); padding keys masked."""

    def __init__(self, d_model: int, num_heads: int, ff_dim: int, dropout: float):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attention = MultiHeadAttention(d_model, num_heads, dropout)
        self.feed_forward = feed_forward(d_model, ff_dim, dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.dropout(self.attention(h, self.attention.keys_values(h), allowed)[0])
        return x + self.dropout(self.feed_forward(self.norm2(x)))


class DecoderLayer(nn.Module):
    """Causal self-attention, cross-attention over the encoder output, feed-forward; each pre-LN residual."""

    def __init__(self, d_model: int, num_heads: int, ff_dim: int, dropout: float):
        super().__init__()
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(d_model) for _ in range(3))
        self.self_attention = MultiHeadAttention(d_model, num_heads, dropout)
        self.cross_attention = MultiHeadAttention(d_model, num_heads, dropout)
        self.feed_forward = feed_forward(d_model, ff_dim, dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        x: torch.Tensor,
        memory: KeysValues,
        allowed: torch.Tensor,
        cache: KeysValues | None = None,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None, KeysValues]:
        """With `cache` (earlier positions' keys/values) `x` is the next position only, so nothing is masked;
        without it `x` is the whole prefix and the mask is causal. Returns x, cross weights, keys/values."""
        h = self.norm1(x)
        keys_values = self.self_attention.keys_values(h)
        if cache is not None:
            keys_values = tuple(
                torch.cat([old, new], dim=2) for old, new in zip(cache, keys_values, strict=True)
            )
        x = x + self.dropout(self.self_attention(h, keys_values, causal=cache is None)[0])
        out, weights = self.cross_attention(self.norm2(x), memory, allowed, need_weights=need_weights)
        x = x + self.dropout(out)
        return x + self.dropout(self.feed_forward(self.norm3(x))), weights, keys_values


class TransformerState(NamedTuple):
    """Decoding state; every tensor has the sentence (row) first."""

    memory: tuple[KeysValues, ...]  # per decoder layer, cross-attention keys/values of the encoder output
    allowed: torch.Tensor  # (N, 1, 1, S) False at source padding
    cache: tuple[KeysValues, ...]  # per decoder layer, self-attention keys/values of the positions so far
    position: int  # the next target position


class TransformerSeq2Seq(nn.Module):
    """Pre-LN encoder-decoder (final LayerNorms, sinusoidal positions, embeddings scaled by sqrt(d_model)).
    `step` caches each layer's keys/values, so decoding one token costs one position, not the prefix."""

    def __init__(
        self,
        source_vocab_size: int,
        target_vocab_size: int,
        d_model: int = 256,
        num_heads: int = 4,
        num_encoder_layers: int = 3,
        num_decoder_layers: int = 3,
        ff_dim: int = 1024,
        dropout: float = 0.1,
        max_length: int = 256,
        tie_embeddings: bool = False,
        attention_layer: int = -1,
        attention_heads: str = "mean",
        pad_id: int = 0,
        bos_id: int = 2,
        eos_id: int = 3,
    ):
        super().__init__()
        if attention_heads not in ATTENTION_HEADS:
            raise InputError(f"attention_heads={attention_heads!r}; expected one of {ATTENTION_HEADS}")
        if not -num_decoder_layers <= attention_layer < num_decoder_layers:
            raise InputError(
                f"attention_layer={attention_layer!r}; expected a decoder layer index in "
                f"[{-num_decoder_layers}, {num_decoder_layers})"
            )
        self.source_vocab_size, self.target_vocab_size = source_vocab_size, target_vocab_size
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id
        self.d_model, self.max_length = d_model, max_length
        self.attention_layer = attention_layer % num_decoder_layers
        self.attention_heads = attention_heads
        self.source_embedding = nn.Embedding(source_vocab_size, d_model, padding_idx=pad_id)
        self.target_embedding = nn.Embedding(target_vocab_size, d_model, padding_idx=pad_id)
        for embedding in (self.source_embedding, self.target_embedding):
            # std d^-1/2 times sqrt(d) in `_embed`: unit-scale inputs, and tied logits of unit scale
            nn.init.normal_(embedding.weight, std=d_model**-0.5)
            embedding.weight.data[pad_id].zero_()
        self.register_buffer("positional", sinusoidal_encoding(max_length, d_model), persistent=False)
        self.dropout = nn.Dropout(dropout)
        self.encoder_layers = nn.ModuleList(
            EncoderLayer(d_model, num_heads, ff_dim, dropout) for _ in range(num_encoder_layers)
        )
        self.decoder_layers = nn.ModuleList(
            DecoderLayer(d_model, num_heads, ff_dim, dropout) for _ in range(num_decoder_layers)
        )
        # pre-LN leaves the residual stream unnormalised, hence the final LayerNorms
        self.encoder_norm, self.decoder_norm = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.output = nn.Linear(d_model, target_vocab_size)
        if tie_embeddings:
            self.output.weight = self.target_embedding.weight

    def _embed(self, embedding: nn.Embedding, tokens: torch.Tensor, offset: int = 0) -> torch.Tensor:
        end = offset + tokens.shape[1]
        if end > self.max_length:
            raise InputError(f"a sequence of {end} tokens exceeds max_length={self.max_length}")
        x = embedding(tokens) * math.sqrt(self.d_model) + self.positional[offset:end].to(
            embedding.weight.dtype
        )
        return self.dropout(x)

    def _heads(self, weights: torch.Tensor) -> torch.Tensor:
        """`(N, heads, T, S)` -> `(N, T, S)` averaged over heads, or unchanged for attention_heads='each'."""
        return weights.mean(dim=1) if self.attention_heads == "mean" else weights

    def encode(self, source: torch.Tensor, source_lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder output `(N, S, d)` (arbitrary at padding) and the key mask `(N, 1, 1, S)`."""
        allowed = ~padding_mask(source_lengths.to(source.device), source.shape[1])[:, None, None, :]
        x = self._embed(self.source_embedding, source)
        for layer in self.encoder_layers:
            x = layer(x, allowed)
        return self.encoder_norm(x), allowed

    def forward(
        self,
        source: torch.Tensor,
        source_lengths: torch.Tensor,
        target_in: torch.Tensor,
        teacher_forcing: float = 1.0,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits `(N, T, V)` and the chosen layer's cross-attention `(N, T, S)` (or `(N, heads, T, S)`)."""
        if teacher_forcing != 1.0:
            raise InputError(
                f"teacher_forcing={teacher_forcing!r}: TransformerSeq2Seq trains with full teacher forcing "
                "(1.0); scheduled sampling is RNNSeq2Seq's option"
            )
        memory, allowed = self.encode(source, source_lengths)
        x, weights = self._embed(self.target_embedding, target_in), None
        for index, layer in enumerate(self.decoder_layers):
            chosen = index == self.attention_layer
            x, found, _ = layer(x, layer.cross_attention.keys_values(memory), allowed, need_weights=chosen)
            weights = found if chosen else weights
        return self.output(self.decoder_norm(x)), self._heads(weights)

    def start(self, source: torch.Tensor, source_lengths: torch.Tensor) -> TransformerState:
        """Encode once and project the encoder output to each decoder layer's cross-attention keys/values."""
        encoded, allowed = self.encode(source, source_lengths)
        memory = tuple(layer.cross_attention.keys_values(encoded) for layer in self.decoder_layers)
        empty = tuple((k[:, :, :0], v[:, :, :0]) for k, v in memory)
        return TransformerState(memory, allowed, empty, 0)

    def step(
        self, state: TransformerState, tokens: torch.Tensor
    ) -> tuple[torch.Tensor, TransformerState, torch.Tensor]:
        x, weights, cache = self._embed(self.target_embedding, tokens.unsqueeze(1), state.position), None, []
        for index, layer in enumerate(self.decoder_layers):
            chosen = index == self.attention_layer
            x, found, keys_values = layer(
                x, state.memory[index], state.allowed, state.cache[index], need_weights=chosen
            )
            weights = found if chosen else weights
            cache.append(keys_values)
        state = state._replace(cache=tuple(cache), position=state.position + 1)
        return self.output(self.decoder_norm(x[:, 0])), state, self._heads(weights).select(-2, 0)

    def reorder(self, state: TransformerState, index: torch.Tensor) -> TransformerState:
        def pick(pairs: tuple[KeysValues, ...]) -> tuple[KeysValues, ...]:
            return tuple((k.index_select(0, index), v.index_select(0, index)) for k, v in pairs)

        return TransformerState(
            pick(state.memory), state.allowed.index_select(0, index), pick(state.cache), state.position
        )
