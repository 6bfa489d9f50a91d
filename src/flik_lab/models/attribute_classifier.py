"""CelebA attribute classifier (small CNN, multi-label): the labeller of latent arithmetic on faces."""

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.classification import MultilabelAccuracy

from flik_lab.models.optimization import (
    OptimizerFactory,
    SchedulerFactory,
    check_optimizer,
    single_optimizer,
)
from flik_lab.utils.arguments import Positive, check_declared


class AttributeCNN(nn.Module):
    """Faces `(N, 3, 64, 64)` in [-1, 1] -> one logit per attribute `(N, num_attributes)`."""

    def __init__(self, num_attributes: int = 40, width: int = 32):
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for i in range(4):  # 64 -> 32 -> 16 -> 8 -> 4
            out = width * 2**i
            layers += [
                nn.Conv2d(channels, out, 3, padding=1),
                nn.BatchNorm2d(out),
                nn.ReLU(),
                nn.MaxPool2d(2),
            ]
            channels = out
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(channels, num_attributes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class AttributeClassifier(L.LightningModule):
    """Trains `net` on CelebA's 40 binary attributes with BCE; reports mean per-attribute accuracy."""

    data_kind = "attributes"  # a DataModule must list it in its `data_kinds`

    def __init__(
        self,
        net: nn.Module,
        num_attributes: Positive[int] = 40,
        lr: Positive[float] = 1e-3,
        optimizer: OptimizerFactory | None = None,
        scheduler: SchedulerFactory | None = None,
    ):
        check_declared(AttributeClassifier.__init__, locals())
        super().__init__()
        check_optimizer("optimizer", optimizer)
        self.save_hyperparameters(ignore=["net", "optimizer", "scheduler"], logger=False)
        self.net = net
        self.optimizer, self.scheduler = optimizer, scheduler
        self.val_acc = MultilabelAccuracy(num_labels=num_attributes)
        self.test_acc = MultilabelAccuracy(num_labels=num_attributes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)

    def _loss(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        images, attributes = batch
        logits = self(images)
        return F.binary_cross_entropy_with_logits(logits, attributes.float()), logits

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        loss, _ = self._loss(batch)
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx: int) -> None:
        loss, logits = self._loss(batch)
        self.val_acc(logits, batch[1])
        self.log("val/loss", loss, prog_bar=True, sync_dist=True)  # the mean over every rank's batches
        self.log("val/acc", self.val_acc, prog_bar=True)

    def test_step(self, batch, batch_idx: int) -> None:
        loss, logits = self._loss(batch)
        self.test_acc(logits, batch[1])
        self.log("test/loss", loss, sync_dist=True)  # the mean over every rank's batches
        self.log("test/acc", self.test_acc)

    def configure_optimizers(self):
        return single_optimizer(self, self.optimizer, self.scheduler, default=torch.optim.Adam)
