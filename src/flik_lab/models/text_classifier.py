"""Exercise 13 as a LightningModule: embed tokens, encode with any sequence encoder, classify."""

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MetricCollection
from torchmetrics.classification import BinaryAccuracy, BinaryAUROC, BinaryF1Score

from flik_lab.models.contracts import SequenceEncoder
from flik_lab.models.finite_loss import BatchSteps, NonfiniteLoss
from flik_lab.models.optimization import (
    OptimizerFactory,
    SchedulerFactory,
    check_optimizer,
    single_optimizer,
)
from flik_lab.utils.arguments import ArgumentError, Fraction, Positive, check_declared


class TextClassifier(L.LightningModule):
    """Sentiment classifier; `encoder` maps `(N, T, E)` embeddings and lengths to `(N, D)` features."""

    data_kind = "reviews"  # a DataModule must list it in its `data_kinds`

    def __init__(
        self,
        encoder: nn.Module,
        vocab_size: Positive[int],
        embed_dim: Positive[int] = 128,
        dropout: Fraction = 0.3,
        lr: Positive[float] = 1e-3,
        optimizer: OptimizerFactory | None = None,
        scheduler: SchedulerFactory | None = None,
        pad_id: int = 0,
        nonfinite_loss: NonfiniteLoss = "error",
    ):
        check_declared(TextClassifier.__init__, locals())
        super().__init__()
        check_optimizer("optimizer", optimizer)
        if not isinstance(encoder, SequenceEncoder):
            raise ArgumentError("encoder", type(encoder).__name__, "a SequenceEncoder (models/contracts.py)")
        self.save_hyperparameters(ignore=["encoder", "optimizer", "scheduler"], logger=False)
        self.optimizer, self.scheduler = optimizer, scheduler
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.out_dim, 1)  # binary: one logit, positive = 1
        metrics = MetricCollection({"acc": BinaryAccuracy(), "f1": BinaryF1Score(), "auroc": BinaryAUROC()})
        self.val_metrics = metrics.clone(prefix="val/")
        self.test_metrics = metrics.clone(prefix="test/")
        self.skipped_steps = 0  # steps skipped for a non-finite loss (nonfinite_loss=skip)
        # two reviews of 16 and 9 tokens: the model summary's sizes and FLOPs
        self.example_input_array = (torch.full((2, 16), pad_id + 1), torch.tensor([16, 9]))

    def forward(
        self, tokens: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits `(N,)` and the encoder's attention weights `(N, T)` (None if it has none)."""
        features, weights = self.encoder(self.dropout(self.embedding(tokens)), lengths)
        return self.head(self.dropout(features)).squeeze(-1), weights

    def _loss(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        logits, _ = self(batch["tokens"], batch["lengths"])
        return F.binary_cross_entropy_with_logits(logits, batch["labels"].float()), logits

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor | None:
        steps = BatchSteps(self)  # before the forward pass: a skipped step undoes what it changed
        loss, _ = self._loss(batch)
        if not steps.take("train/loss", loss, batch_idx):
            return None  # Lightning skips backward and the optimizer step
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["labels"]))
        return loss

    def _evaluate(self, batch: dict, stage: str, metrics: MetricCollection) -> None:
        loss, logits = self._loss(batch)
        metrics.update(torch.sigmoid(logits.float()), batch["labels"])
        self.log(f"{stage}/loss", loss, batch_size=len(batch["labels"]), sync_dist=True)
        self.log_dict(metrics, prog_bar=stage == "val")

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._evaluate(batch, "val", self.val_metrics)

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._evaluate(batch, "test", self.test_metrics)

    def configure_optimizers(self):
        return single_optimizer(self, self.optimizer, self.scheduler, default=torch.optim.AdamW)
