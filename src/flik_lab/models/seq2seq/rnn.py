"""RNN encoder-decoder: the course's bidirectional encoder, an LSTM/GRU decoder attending over its states."""

from typing import NamedTuple

import torch
from torch import nn

from flik_lab.models.seq2seq.attention import AdditiveAttention, LuongAttention
from flik_lab.models.text._masking import gather_last, padding_mask
from flik_lab.models.text.bilstm import reverse_within_lengths
from flik_lab.utils.errors import InputError

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}
ATTENTIONS = ("additive", "dot", "general")


class RNNState(NamedTuple):
    """What the decoder carries between steps; every tensor has the sentence (row) on `ROW_DIM`."""

    memory: torch.Tensor  # (N, S, H) encoder states, zero at padding
    prepared: torch.Tensor  # (N, S, A) the keys as the attention compares them
    mask: torch.Tensor  # (N, S) True at padding
    hidden: tuple[torch.Tensor, ...]  # (h,) for a GRU, (h, c) for an LSTM; each (num_layers, N, H)


class BiRNNEncoder(nn.Module):
    """Two RNNs over each row, the second over the row reversed within its length, so padding comes last."""

    def __init__(self, embed_dim: int, hidden_size: int, num_layers: int, dropout: float, cell: str):
        super().__init__()
        rnn, dropout = CELLS[cell], dropout if num_layers > 1 else 0.0
        self.forward_rnn = rnn(embed_dim, hidden_size, num_layers, batch_first=True, dropout=dropout)
        self.backward_rnn = rnn(embed_dim, hidden_size, num_layers, batch_first=True, dropout=dropout)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """States `(N, S, H)` (arbitrary at padding) and the two directions' final states `(N, 2H)`."""
        forward = self.forward_rnn(x)[0]
        backward = reverse_within_lengths(self.backward_rnn(reverse_within_lengths(x, lengths))[0], lengths)
        # course: the bidirectional RNN's two directions' outputs are added
        states = forward + backward
        # forward has read the whole row at its last real token, backward at position 0
        return states, torch.cat([gather_last(forward, lengths), backward[:, 0]], dim=-1)


class RNNSeq2Seq(nn.Module):
    """Bidirectional encoder (outputs added) and an attentive decoder; a learned bridge maps the encoder's
    final states to the decoder's initial ones. Step t: context c_t = attention(s_{t-1}, encoder states)
    (Bahdanau: the query is the previous top state), s_t = RNN([embed(y_{t-1}); c_t], s_{t-1}),
    logits = W_out tanh(W_c [s_t; c_t])."""

    def __init__(
        self,
        source_vocab_size: int,
        target_vocab_size: int,
        embed_dim: int = 128,
        hidden_size: int = 256,
        num_layers: int = 1,
        dropout: float = 0.1,
        cell: str = "lstm",
        attention: str = "additive",
        pad_id: int = 0,
        bos_id: int = 2,
        eos_id: int = 3,
    ):
        super().__init__()
        if cell not in CELLS:
            raise InputError(f"cell={cell!r}; expected one of {tuple(CELLS)}")
        if attention not in ATTENTIONS:
            raise InputError(f"attention={attention!r}; expected one of {ATTENTIONS}")
        self.source_vocab_size, self.target_vocab_size = source_vocab_size, target_vocab_size
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id
        self.cell, self.num_layers, self.hidden_size = cell, num_layers, hidden_size
        self.source_embedding = nn.Embedding(source_vocab_size, embed_dim, padding_idx=pad_id)
        self.target_embedding = nn.Embedding(target_vocab_size, embed_dim, padding_idx=pad_id)
        self.dropout = nn.Dropout(dropout)
        self.encoder = BiRNNEncoder(embed_dim, hidden_size, num_layers, dropout, cell)
        # encoder states and decoder states are both hidden_size wide, so dot attention needs no projection
        self.attention = (
            AdditiveAttention(hidden_size, hidden_size)
            if attention == "additive"
            else LuongAttention(hidden_size, hidden_size, attention)
        )
        self.parts = 2 if cell == "lstm" else 1  # (h, c) or h
        self.bridge = nn.Linear(2 * hidden_size, self.parts * num_layers * hidden_size)
        self.decoder = CELLS[cell](
            embed_dim + hidden_size,
            hidden_size,
            num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.combine = nn.Linear(2 * hidden_size, hidden_size)
        self.output = nn.Linear(hidden_size, target_vocab_size)

    def start(self, source: torch.Tensor, source_lengths: torch.Tensor) -> RNNState:
        """Encode the source once: memory, prepared keys, padding mask and the bridged initial state."""
        lengths = source_lengths.to(source.device)
        mask = padding_mask(lengths, source.shape[1])
        states, final = self.encoder(self.dropout(self.source_embedding(source)), lengths)
        memory = states.masked_fill(mask.unsqueeze(-1), 0.0)
        initial = torch.tanh(self.bridge(final)).view(source.shape[0], self.parts * self.num_layers, -1)
        hidden = tuple(initial.transpose(0, 1).contiguous().chunk(self.parts, dim=0))
        return RNNState(memory, self.attention.prepare(memory), mask, hidden)

    def _advance(
        self, state: RNNState, embedded: torch.Tensor
    ) -> tuple[torch.Tensor, RNNState, torch.Tensor]:
        """One decoder step from embedded previous tokens `(N, E)`: features `(N, H)`, state, weights."""
        query = state.hidden[0][-1]  # top layer's s_{t-1}
        context, weights = self.attention(query, state.memory, state.mask, state.prepared)
        hx = state.hidden if self.cell == "lstm" else state.hidden[0]
        out, hx = self.decoder(torch.cat([embedded, context], dim=-1).unsqueeze(1), hx)
        hidden = hx if self.cell == "lstm" else (hx,)
        features = torch.tanh(self.combine(torch.cat([out[:, 0], context], dim=-1)))
        return features, state._replace(hidden=tuple(hidden)), weights

    def step(self, state: RNNState, tokens: torch.Tensor) -> tuple[torch.Tensor, RNNState, torch.Tensor]:
        features, state, weights = self._advance(state, self.dropout(self.target_embedding(tokens)))
        return self.output(self.dropout(features)), state, weights

    def reorder(self, state: RNNState, index: torch.Tensor) -> RNNState:
        memory, prepared, mask = (t.index_select(0, index) for t in state[:3])
        return RNNState(memory, prepared, mask, tuple(h.index_select(1, index) for h in state.hidden))

    def forward(
        self,
        source: torch.Tensor,
        source_lengths: torch.Tensor,
        target_in: torch.Tensor,
        teacher_forcing: float = 1.0,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits `(N, T, V)` and attention `(N, T, S)`; below 1, each step and row feeds back the model's own
        argmax with probability 1 - teacher_forcing instead of the target token (scheduled sampling)."""
        if not 0.0 <= teacher_forcing <= 1.0:
            raise InputError(f"teacher_forcing={teacher_forcing!r}; expected a probability in [0, 1]")
        state = self.start(source, source_lengths)
        if teacher_forcing == 1.0:
            embedded = self.dropout(self.target_embedding(target_in))
            features, weights = [], []
            for t in range(target_in.shape[1]):
                feature, state, weight = self._advance(state, embedded[:, t])
                features.append(feature)
                weights.append(weight)
            # the output layer once over all steps: the vocabulary projection is the costliest matmul
            return self.output(self.dropout(torch.stack(features, dim=1))), torch.stack(weights, dim=1)
        logits, weights, tokens = [], [], target_in[:, 0]
        for t in range(target_in.shape[1]):
            if t > 0:
                own = torch.rand(tokens.shape, device=tokens.device) >= teacher_forcing
                tokens = torch.where(own, logits[-1].argmax(dim=-1), target_in[:, t])
            logit, state, weight = self.step(state, tokens)
            logits.append(logit)
            weights.append(weight)
        return torch.stack(logits, dim=1), torch.stack(weights, dim=1)
