"""What a model must offer to plug into flik-lab: the contracts of the extension points, as Protocols."""

from typing import Any, Protocol, runtime_checkable

import torch


@runtime_checkable
class SequenceEncoder(Protocol):
    """A text encoder (`model.encoder`): embeddings `(N, T, E)` and lengths `(N,)` -> features
    `(N, out_dim)` and attention weights `(N, T)` or None; end padding must not change the results."""

    out_dim: int

    def forward(
        self, embedded: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]: ...


@runtime_checkable
class GenerativeModel(Protocol):
    """What `sample` and `latent …` use of a GAN: vectors from the prior, decoded to images in [-1, 1]."""

    latent_dim: int

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor: ...

    def forward(self, z: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class Seq2SeqNetwork(Protocol):
    """A translation network: teacher-forced `forward` -> logits `(N, T, V)` and cross-attention `(N, T, S)`;
    `start` encodes once, `step` decodes one token for each row, `reorder` picks/repeats rows (beams)."""

    source_vocab_size: int
    target_vocab_size: int

    def forward(
        self,
        source: torch.Tensor,
        source_lengths: torch.Tensor,
        target_in: torch.Tensor,
        teacher_forcing: float = 1.0,
    ) -> tuple[torch.Tensor, torch.Tensor]: ...

    def start(self, source: torch.Tensor, source_lengths: torch.Tensor) -> Any: ...

    def step(self, state: Any, tokens: torch.Tensor) -> tuple[torch.Tensor, Any, torch.Tensor]: ...

    def reorder(self, state: Any, index: torch.Tensor) -> Any: ...
