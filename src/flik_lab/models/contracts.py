"""The contracts of flik-lab's extension points, as Protocols: what a model must offer, and what each kind of
data (a model's `data_kind`, a DataModule's `data_kinds`) offers to the models and callbacks that use it.

From typing_extensions: its `isinstance` looks members up statically, so a property is not evaluated (a
DataModule's vocabulary size exists only once it is set up, after the check).
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from typing_extensions import Protocol, runtime_checkable


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


@runtime_checkable
class ImageData(Protocol):
    """`images` and `attributes` data: batches only; no model or callback reads more of it."""


@runtime_checkable
class ReviewData(Protocol):
    """`reviews` data: its tokenizer both ways and the first validation reviews (attention heatmaps)."""

    val_set: Any  # `.labels`: the validation reviews' labels, in `val_texts` order

    def encode(self, texts: list[str]) -> list[list[int]]: ...

    def decode_tokens(self, ids: Sequence[int] | torch.Tensor) -> list[str]: ...

    def val_texts(self, k: int) -> list[str]: ...


@runtime_checkable
class SentencePairData(Protocol):
    """`sentence_pairs` data: both tokenizers (the target's size read once the data is set up) and the first
    validation pairs (cross-attention heatmaps)."""

    target_vocab_size: int

    def decode_target(self, ids: Sequence[Sequence[int]]) -> list[str]: ...

    def encode_source(self, texts: list[str]) -> list[list[int]]: ...

    def source_tokens(self, ids: Sequence[int]) -> list[str]: ...

    def target_tokens(self, ids: Sequence[int]) -> list[str]: ...

    def val_pairs(self, k: int) -> list[tuple[str, str]]: ...


@runtime_checkable
class UnpairedImageData(Protocol):
    """`unpaired_images` data: domains "a" and "b", their training images (labelled ones where
    `has_labels`), the first test images, and a folder for what is fitted on them."""

    channels: int
    image_size: int
    has_labels: bool

    def cache_dir(self) -> Path: ...

    def train_images(self, domain: str, limit: int | None = None) -> torch.Tensor: ...

    def labelled_train_images(self, domain: str) -> tuple[torch.Tensor, torch.Tensor]: ...

    def fixed_test_images(self, k: int) -> tuple[torch.Tensor, torch.Tensor]: ...


# a model's `data_kind` -> what its data offers
DATA_CONTRACTS: dict[str, type] = {
    "images": ImageData,
    "attributes": ImageData,
    "reviews": ReviewData,
    "sentence_pairs": SentencePairData,
    "unpaired_images": UnpairedImageData,
}
