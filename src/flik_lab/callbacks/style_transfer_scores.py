"""Validation/test scores of an image-to-image translator that need the data: target style, FID and, for
labelled domains, content as a reader of the target domain sees it.

*Target style reached*: a domain classifier trained on the real A and B training images (cached) puts the
translated image in the target domain. *FID* (digits only): the translated images against the real ones
of the target domain, in the shipped MNIST classifier's feature space. *Content, target reader* (digits
only): a digit reader fitted on the target domain's real labelled training images (cached; labels used for
scoring only) gives the translation the source's label. The shipped MNIST classifier, which scores
`content_a2b` in the model, reads only 0.87 of real typeset digits (typeset 1s look like 2s to it); this
reader reads them all, so a translation that became a typeset digit of the right class scores here.
"""

import lightning as L
import torch
from torchmetrics import MeanMetric

from flik_lab.metrics.domain_classifier import DomainClassifier, cached_domain_classifier
from flik_lab.metrics.fid import mnist_fid
from flik_lab.models.connect import trainer_data
from flik_lab.models.contracts import UnpairedImageData
from flik_lab.models.semantic_consistency import SCORING_READER_SEED, DigitReader, cached_reader
from flik_lab.utils.arguments import Count, check_declared

DIRECTIONS = ("a2b", "b2a")
TRAIN_IMAGES = 5000  # per domain, drawn by seed, that the domain classifier is fitted on (CelebA has 160k)


class StyleTransferScores(L.Callback):
    """Logs `<stage>/style_a2b`, `style_b2a`; for 28x28 digits `fid_a2b`, `fid_b2a`; for labelled domains
    `content_a2b_target`, `content_b2a_target` (`reader_epochs=null`: not), and `weakest`: the lowest of
    the style scores and the model's `content_a2b`, `content_b2a` (the goal is all four high: a monitor)."""

    def __init__(self, fid: bool = True, classifier_epochs: int = 5, reader_epochs: Count | None = 30):
        check_declared(StyleTransferScores.__init__, locals())
        self.fid, self.classifier_epochs, self.reader_epochs = fid, classifier_epochs, reader_epochs
        self.classifier: DomainClassifier | None = None
        self.readers: dict[str, DigitReader] = {}  # domain -> its digit reader
        self.scores: dict[str, object] = {}

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        # here, not in an evaluation hook: those run under inference mode, where nothing can be fitted
        data = trainer_data(trainer, UnpairedImageData, self)
        if self.classifier is None:
            a, b = (data.train_images(domain, limit=TRAIN_IMAGES).cpu() for domain in "ab")
            self.classifier = cached_domain_classifier(a, b, data.cache_dir(), epochs=self.classifier_epochs)
        if not self.readers and self.reader_epochs is not None and data.has_labels:
            for domain in "ab":
                images, labels = (t.cpu() for t in data.labelled_train_images(domain))
                self.readers[domain] = cached_reader(
                    images, labels, data.cache_dir(), epochs=self.reader_epochs, seed=SCORING_READER_SEED
                )

    def _prepare(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        data = trainer_data(trainer, UnpairedImageData, self)
        self.classifier.to(pl_module.device)
        for reader in self.readers.values():
            reader.to(pl_module.device)
        self.scores = {f"style_{d}": MeanMetric().to(pl_module.device) for d in DIRECTIONS}
        if self.readers:
            self.scores |= {f"content_{d}_target": MeanMetric().to(pl_module.device) for d in DIRECTIONS}
        if self.fid and data.channels == 1 and data.image_size == 28:
            self.scores |= {f"fid_{d}": mnist_fid().to(pl_module.device) for d in DIRECTIONS}

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._prepare(trainer, pl_module)

    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._prepare(trainer, pl_module)

    @torch.no_grad()
    def _update(self, pl_module: L.LightningModule, batch: dict, outputs: dict | None = None) -> None:
        """Score the real rows of `batch`, with the translations in the step's `outputs` if it has them."""
        valid = {d: batch.get(f"valid_{d}", torch.ones(len(batch[d]), dtype=torch.bool)) for d in "ab"}
        real_a, real_b = batch["a"][valid["a"]], batch["b"][valid["b"]]
        if isinstance(outputs, dict) and {"fake_a", "fake_b"} <= outputs.keys():
            fake_b, fake_a = outputs["fake_b"][valid["a"]], outputs["fake_a"][valid["b"]]
        else:
            fake_b, fake_a = pl_module(real_a, direction="a2b"), pl_module(real_b, direction="b2a")
        self.scores["style_a2b"].update(self.classifier.says_b(fake_b).float())
        self.scores["style_b2a"].update((~self.classifier.says_b(fake_a)).float())
        if self.readers:  # each translation read by the target domain's reader, against the source's label
            for fake, source, target in ((fake_b, "a", "b"), (fake_a, "b", "a")):
                label = batch[f"label_{source}"][valid[source]]
                keep = label >= 0
                predicted = self.readers[target](fake[keep].float()).argmax(1)
                self.scores[f"content_{source}2{target}_target"].update((predicted == label[keep]).float())
        if "fid_a2b" in self.scores:
            self.scores["fid_a2b"].update(real_b.double(), real=True)
            self.scores["fid_a2b"].update(fake_b.double(), real=False)
            self.scores["fid_b2a"].update(real_a.double(), real=True)
            self.scores["fid_b2a"].update(fake_a.double(), real=False)

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
        if not trainer.sanity_checking:
            self._update(pl_module, batch, outputs)

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
        self._update(pl_module, batch, outputs)

    def _log(self, pl_module: L.LightningModule, stage: str) -> None:
        values = {name: metric.compute().float() for name, metric in self.scores.items()}  # summed over ranks
        for name, value in values.items():
            pl_module.log(f"{stage}/{name}", value, prog_bar=name.startswith("style"))
        for metric in self.scores.values():
            metric.reset()
        # Lightning calls callbacks' epoch-end hooks before it computes and resets the model's metrics
        kept = pl_module.kept_content(stage) if hasattr(pl_module, "kept_content") else []
        pl_module.log(
            f"{stage}/weakest", torch.stack([values["style_a2b"], values["style_b2a"], *kept]).min()
        )

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._log(pl_module, "val")

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._log(pl_module, "test")
