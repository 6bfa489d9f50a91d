"""CycleGAN (Zhu et al. 2017) as a LightningModule: unpaired translation A <-> B, manual optimization."""

from collections.abc import Iterator, Sequence
from functools import partial
from itertools import chain
from typing import Annotated, Literal

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanMetric

from flik_lab.models.adversarial_steps import optimize_step, optimizer_pair
from flik_lab.models.finite_loss import BatchSteps, NonfiniteLoss
from flik_lab.models.image_pool import POOL_SIZE, ImagePool
from flik_lab.models.optimization import (
    OptimizerFactory,
    SchedulerFactory,
    build_optimizer,
    check_optimizer,
)
from flik_lab.models.semantic_consistency import (
    LabelClassifier,
    cached_label_classifier,
    checked_reader_networks,
    checked_reader_seeds,
    jitter,
)
from flik_lab.utils.arguments import (
    ArgumentError,
    Count,
    Positive,
    Range,
    Weight,
    check_declared,
    require_choice,
)
from flik_lab.utils.lightning_internals import find_unused_parameters

# as in gan.py: "find" toggles the network a backward pass does not train and lets DDP search for unused
# parameters; "touch" toggles nothing and adds a zero-weighted term that reaches every parameter
UnusedParameters = Literal["find", "touch"]
Confidence = Annotated[float, Range(0, "a probability in [0, 1] or null", maximum=1)]
DIRECTIONS = ("a2b", "b2a")
CYCLEGAN_ADAM = partial(torch.optim.Adam, betas=(0.5, 0.999))  # the paper's; without `optimizer_*`


def lsgan_loss(logits: torch.Tensor, target: float) -> torch.Tensor:
    """Least-squares GAN loss (Mao et al. 2017): mean (D(x) - target)^2 over every patch."""
    return F.mse_loss(logits, torch.full_like(logits, target))


def shape_loss(translated: torch.Tensor, source: torch.Tensor, window: int) -> torch.Tensor:
    """L1 between the `window`-pixel average-pooled images: the translation keeps the source's coarse layout
    (where ink is) and is free below that scale, where style lives (strokes, serifs, texture)."""
    return F.l1_loss(
        F.avg_pool2d(translated, window, ceil_mode=True), F.avg_pool2d(source, window, ceil_mode=True)
    )


def _one_b_reader_to_many(module, state_dict, prefix, *args) -> None:
    """Checkpoints from before B had one reader per A reader held a single `label_classifier_b`: it becomes
    every B reader (translation never reads them; only a resumed run's pseudo-labels would)."""
    old = f"{prefix}label_classifier_b."
    for key in [k for k in state_dict if k.startswith(old)]:
        value = state_dict.pop(key)
        for index in range(len(module.label_classifiers_b)):
            state_dict[f"{prefix}label_classifiers_b.{index}.{key[len(old) :]}"] = value


def labelled_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the rows with a label (>= 0); 0, not NaN, when none has one. Masked rather than
    filtered, so that the step never waits on the device to count the rows."""
    labelled = labels >= 0
    per_row = F.cross_entropy(logits, labels.clamp(min=0), reduction="none") * labelled
    return per_row.sum() / labelled.sum().clamp(min=1)


class CycleGAN(L.LightningModule):
    """Generators G: A -> B and F: B -> A, discriminators D_A (real A vs F(b)) and D_B (real B vs G(a)).

    G and F minimise LSGAN + lambda_cycle x (|F(G(a)) - a| + |G(F(b)) - b|) + lambda_cycle x lambda_identity
    x (|G(b) - b| + |F(a) - a|); the discriminators see generated images through history pools.
    Against losing the content: `lambda_semantic`, CyCADA's semantic consistency against class swaps (see
    `_semantic_loss`), and two label-free terms measured and left off: `cycle_noise` (Chu et al. 2017, against
    steganography) and `lambda_shape` (see `shape_loss`).
    """

    data_kind = "unpaired_images"  # a DataModule must list it in its `data_kinds`

    def __init__(
        self,
        generator_ab: nn.Module,
        generator_ba: nn.Module,
        discriminator_a: nn.Module,
        discriminator_b: nn.Module,
        lr: Positive[float] = 2e-4,
        optimizer_g: OptimizerFactory | None = None,
        optimizer_d: OptimizerFactory | None = None,
        scheduler: SchedulerFactory | None = None,
        lambda_cycle: Weight = 10.0,
        lambda_identity: Weight = 0.5,
        pool_size: Annotated[int, POOL_SIZE] = 50,
        cycle_noise: Weight = 0.0,
        lambda_shape: Weight = 0.0,
        shape_pool: Count = 4,
        lambda_semantic: Weight = 0.0,
        pseudo_label_confidence: Confidence | None = 0.9,
        reader_epochs: Count = 30,
        reader_seeds: Sequence[int] = (0,),
        reader_networks: Sequence[str] = ("small_cnn",),
        reader_jitter: bool = False,
        grad_clip_norm: Positive[float] | None = None,
        unused_parameters: UnusedParameters = "find",
        nonfinite_loss: NonfiniteLoss = "error",
        content_classifier: nn.Module | None = None,
    ):
        check_declared(CycleGAN.__init__, locals())
        super().__init__()
        reader_seeds = checked_reader_seeds(reader_seeds)
        reader_networks = checked_reader_networks(reader_networks)
        if not isinstance(reader_jitter, bool):
            raise ArgumentError("reader_jitter", reader_jitter, "true or false")
        check_optimizer("optimizer_g", optimizer_g)
        check_optimizer("optimizer_d", optimizer_d)
        self.pools = {"a": ImagePool(pool_size), "b": ImagePool(pool_size)}  # not saved
        self.save_hyperparameters(
            ignore=[
                "generator_ab", "generator_ba", "discriminator_a", "discriminator_b",
                "optimizer_g", "optimizer_d", "scheduler", "content_classifier",
            ],
            logger=False,
        )  # fmt: skip
        self.optimizer_g, self.optimizer_d, self.scheduler = optimizer_g, optimizer_d, scheduler
        self.automatic_optimization = False  # two optimizers; Lightning's clipping is ours to do
        self.generator_ab, self.generator_ba = generator_ab, generator_ba
        self.discriminator_a, self.discriminator_b = discriminator_a, discriminator_b
        # a frozen digit classifier: "content kept" = it gives a translated image the source's label
        self.content_classifier = content_classifier
        if content_classifier is not None:
            content_classifier.eval().requires_grad_(False)
        self.eval_metrics = nn.ModuleDict(
            {name: MeanMetric() for name in ("cycle_a", "cycle_b", "content_a2b", "content_b2a")}
        )
        self.skipped_steps = 0  # steps skipped for a non-finite loss (nonfinite_loss=skip)
        # A's readers: fitted on A's labels in setup when lambda_semantic > 0; in a list, so that they are
        # neither trained nor saved. B's readers, one per A's reader that each starts as, learn from G(a) with
        # a's label alongside the discriminators.
        self._semantic_classifier: list[nn.Module] = []
        self.label_classifiers_b = None
        if lambda_semantic > 0 and pseudo_label_confidence is not None:
            channels = getattr(generator_ab, "channels", None)
            if not isinstance(channels, int):
                raise ArgumentError(
                    "generator_ab", type(generator_ab).__name__, "a generator with `channels`"
                )
            self.label_classifiers_b = nn.ModuleList(
                LabelClassifier(channels, network=network) for network, _ in self._readers()
            )
            self.register_load_state_dict_pre_hook(_one_b_reader_to_many)

    def setup(self, stage: str) -> None:
        if self.hparams.unused_parameters == "find":
            # each backward pass leaves the other pair of networks without gradients: DDP's reducer must
            # look for unused parameters (Lightning #20328); set before the model is wrapped
            find_unused_parameters(self.trainer.strategy)
        if stage == "fit" and self.hparams.lambda_semantic > 0 and not self._semantic_classifier:
            data = self.trainer.datamodule
            images, labels = (t.cpu() for t in data.labelled_train_images("a"))
            epochs, cache = self.hparams.reader_epochs, data.cache_dir()
            self._semantic_classifier.extend(
                cached_label_classifier(images, labels, cache, epochs=epochs, seed=seed, network=network)
                for network, seed in self._readers()
            )
            # each B reader starts as its A reader; a resumed run's are then restored from its checkpoint
            if self.label_classifiers_b is not None:
                pairs = zip(self.label_classifiers_b, self._semantic_classifier, strict=True)
                for reader_b, reader_a in pairs:
                    reader_b.load_state_dict(reader_a.state_dict())

    def _readers(self) -> list[tuple[str, int]]:
        """A's readers (and B's, one each), as (network, seed): every network with every seed."""
        return [(n, seed) for n in self.hparams.reader_networks for seed in self.hparams.reader_seeds]

    def on_fit_start(self) -> None:
        for classifier in self._semantic_classifier:  # after Lightning has moved the model to its device
            classifier.to(self.device)

    def generator_parameters(self) -> Iterator[nn.Parameter]:
        return chain(self.generator_ab.parameters(), self.generator_ba.parameters())

    def discriminator_parameters(self) -> Iterator[nn.Parameter]:
        """D_A's and D_B's, and B's label readers' (trained in the same step, on G(a))."""
        reader = [] if self.label_classifiers_b is None else self.label_classifiers_b.parameters()
        return chain(self.discriminator_a.parameters(), self.discriminator_b.parameters(), reader)

    def forward(self, images: torch.Tensor, direction: str = "a2b") -> torch.Tensor:
        """Translate images of domain A to B (`a2b`, G) or B to A (`b2a`, F)."""
        require_choice("direction", direction, DIRECTIONS)
        return (self.generator_ab if direction == "a2b" else self.generator_ba)(images)

    def configure_optimizers(self):
        lr = self.hparams.lr
        opt_g = build_optimizer(self.optimizer_g, self.generator_parameters(), lr, CYCLEGAN_ADAM)
        opt_d = build_optimizer(self.optimizer_d, self.discriminator_parameters(), lr, CYCLEGAN_ADAM)
        return optimizer_pair(self, opt_g, opt_d, self.scheduler)

    def training_step(self, batch, batch_idx: int) -> None:
        real_a, real_b = batch["a"], batch["b"]
        opt_g, opt_d = self.optimizers()
        lambda_cycle, lambda_identity = self.hparams.lambda_cycle, self.hparams.lambda_identity
        steps = BatchSteps(self)  # before the first forward pass: a skipped step undoes what they changed
        fake_b, fake_a = self.generator_ab(real_a), self.generator_ba(real_b)
        terms = {}

        def g_loss() -> torch.Tensor:  # the paper's order: G and F first, against the current D's
            adversarial = lsgan_loss(self.discriminator_b(fake_b), 1.0) + lsgan_loss(
                self.discriminator_a(fake_a), 1.0
            )
            # "F(G(x)) ~ x and G(F(y)) ~ y", in L1; noise on G(x) drowns any signal hidden below its level
            terms["cycle"] = F.l1_loss(self.generator_ba(self._noisy(fake_b)), real_a) + F.l1_loss(
                self.generator_ab(self._noisy(fake_a)), real_b
            )
            loss = adversarial + lambda_cycle * terms["cycle"]
            if self.hparams.lambda_shape > 0:
                window = self.hparams.shape_pool
                terms["shape"] = shape_loss(fake_b, real_a, window) + shape_loss(fake_a, real_b, window)
                loss = loss + self.hparams.lambda_shape * terms["shape"]
            if self.hparams.lambda_semantic > 0:
                terms["semantic"] = self._semantic_loss(real_b, fake_a, fake_b, batch["label_a"])
                loss = loss + self.hparams.lambda_semantic * terms["semantic"]
            if lambda_identity > 0:  # a generator fed its own target domain should leave it unchanged
                terms["identity"] = F.l1_loss(self.generator_ab(real_b), real_b) + F.l1_loss(
                    self.generator_ba(real_a), real_a
                )
                loss = loss + lambda_cycle * lambda_identity * terms["identity"]
            return loss

        def d_loss() -> torch.Tensor:  # 0.5 x LSGAN per discriminator, as the paper halves D's rate
            pooled_a, pooled_b = self.pools["a"].query(fake_a), self.pools["b"].query(fake_b)
            loss_a = lsgan_loss(self.discriminator_a(real_a), 1.0) + lsgan_loss(
                self.discriminator_a(pooled_a), 0.0
            )
            loss_b = lsgan_loss(self.discriminator_b(real_b), 1.0) + lsgan_loss(
                self.discriminator_b(pooled_b), 0.0
            )
            loss = 0.5 * (loss_a + loss_b)
            if self.label_classifiers_b is not None:  # B's readers: G(a) carries a's label
                readers, fake = self.label_classifiers_b, fake_b.detach()
                terms["reader_b"] = sum(
                    labelled_cross_entropy(reader(fake), batch["label_a"]) for reader in readers
                ) / len(readers)
                loss = loss + terms["reader_b"]
            if self.hparams.unused_parameters == "touch":  # G and F get zero gradients instead of none
                loss = loss + 0.0 * sum(p.sum() for p in self.generator_parameters())
            return loss

        loss_g = optimize_step(self, steps, opt_g, g_loss, "train/loss_g", batch_idx)
        loss_d = optimize_step(self, steps, opt_d, d_loss, "train/loss_d", batch_idx)
        for scheduler in self.lr_schedulers() or []:  # manual optimization: Lightning does not step them
            scheduler.step()
        if not steps.skipped and self._writes_logs_this_batch():
            metrics = {"train/loss_g": loss_g, "train/loss_d": loss_d, "train/cycle": terms["cycle"].detach()}
            for name in ("identity", "shape", "semantic", "reader_b"):
                if name in terms:
                    metrics[f"train/{name}"] = terms[name].detach()
            self.log_dict(metrics, prog_bar=True)

    def _read(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of A's readers on `images` against `labels`, averaged over the readers; under
        `reader_jitter`, on jittered copies, so that no pixel-exact pattern can please them (an adversarial
        example for one reader, which the others and the scoring classifiers do not read)."""
        if self.hparams.reader_jitter:
            images = jitter(images)
        readers = self._semantic_classifier
        return sum(labelled_cross_entropy(reader(images), labels) for reader in readers) / len(readers)

    def _semantic_loss(self, real_b, fake_a, fake_b, label_a) -> torch.Tensor:
        """CyCADA's semantic consistency: A's readers give G(a) the label of a (rows without one, -1, left
        out) and F(b) the label B's readers give b, where their mean is confident; B's labels are never read.
        The mean matters: one reader can be sure and wrong about a whole class (bench/RESULTS.md)."""
        loss = self._read(fake_b, label_a)
        if self.label_classifiers_b is None:  # pseudo_label_confidence=null: G(a) only
            return loss
        loss = loss + self._read(fake_a, self.pseudo_labels_b(real_b))
        if self.hparams.unused_parameters == "touch":  # B's readers train only in D's step
            loss = loss + 0.0 * sum(p.sum() for p in self.label_classifiers_b.parameters())
        return loss

    @torch.no_grad()
    def pseudo_labels_b(self, real_b: torch.Tensor) -> torch.Tensor:
        """The class B's readers give each of `real_b` by their mean softmax; -1 where that mean is less than
        `pseudo_label_confidence` sure."""
        readers = self.label_classifiers_b
        confidence, labels = (sum(reader(real_b).softmax(1) for reader in readers) / len(readers)).max(1)
        labels[confidence < self.hparams.pseudo_label_confidence] = -1
        return labels

    def _noisy(self, images: torch.Tensor) -> torch.Tensor:
        """`images` plus N(0, cycle_noise^2) per pixel (training's cycle input only)."""
        std = self.hparams.cycle_noise
        return images + std * torch.randn_like(images) if std > 0 else images

    def _writes_logs_this_batch(self) -> bool:
        """Whether Lightning writes step metrics after this batch (every `log_every_n_steps` batches); as
        in gan.py, logging on the other batches costs time for values that are dropped."""
        every = self.trainer.log_every_n_steps
        batch = self.global_step // 2  # two optimizer steps per batch, both taken
        return bool(self.trainer.fast_dev_run) or (every > 0 and batch % every == 0)

    def _evaluate(self, batch) -> dict[str, torch.Tensor]:
        """Update the eval metrics with the real rows of `batch` (`valid_a` / `valid_b` masks: the shorter
        domain's rows cycle to fill its batches); returns the translations, which Lightning hands to the
        callbacks' batch-end hooks as `outputs` (the style scores use them instead of translating again)."""
        real_a, real_b = batch["a"], batch["b"]
        valid_a = batch.get("valid_a", torch.ones(len(real_a), dtype=torch.bool, device=real_a.device))
        valid_b = batch.get("valid_b", torch.ones(len(real_b), dtype=torch.bool, device=real_b.device))
        fake_b, fake_a = self.generator_ab(real_a), self.generator_ba(real_b)
        translations = {"fake_a": fake_a, "fake_b": fake_b}
        metrics = self.eval_metrics
        # per image: mean |F(G(a)) - a| and mean |G(F(b)) - b|
        metrics["cycle_a"].update((self.generator_ba(fake_b) - real_a).abs().flatten(1).mean(1)[valid_a])
        metrics["cycle_b"].update((self.generator_ab(fake_a) - real_b).abs().flatten(1).mean(1)[valid_b])
        if self.content_classifier is None:
            return translations
        for fake, label, valid, name in (
            (fake_b, batch.get("label_a"), valid_a, "content_a2b"),
            (fake_a, batch.get("label_b"), valid_b, "content_b2a"),
        ):
            if label is None:
                continue
            keep = valid & (label >= 0)
            if keep.any():
                predicted = self.content_classifier(fake[keep].float()).argmax(1)
                metrics[name].update((predicted == label[keep]).float())
        return translations

    def _log_eval(self, stage: str) -> None:
        metrics = self.eval_metrics
        values = {}
        if metrics["cycle_a"].update_called or metrics["cycle_b"].update_called:
            # the two directions' means, each over its domain's images: domains of different sizes weigh alike
            values[f"{stage}/cycle_l1"] = 0.5 * (metrics["cycle_a"].compute() + metrics["cycle_b"].compute())
        for name in ("content_a2b", "content_b2a"):
            if metrics[name].update_called:
                values[f"{stage}/{name}"] = metrics[name].compute()
        if values:
            self.log_dict(values, prog_bar=stage == "val")
        for metric in metrics.values():
            metric.reset()

    def validation_step(self, batch, batch_idx: int) -> dict[str, torch.Tensor]:
        return self._evaluate(batch)

    def on_validation_epoch_end(self) -> None:
        self._log_eval("val")

    def test_step(self, batch, batch_idx: int) -> dict[str, torch.Tensor]:
        return self._evaluate(batch)

    def on_test_epoch_end(self) -> None:
        self._log_eval("test")
