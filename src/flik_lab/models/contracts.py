"""What a model must offer to plug into flik-lab: the contracts of the extension points, as Protocols."""

from typing import Protocol, runtime_checkable

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
