"""CycleGAN (Zhu et al. 2017) as a LightningModule: unpaired translation A <-> B, manual optimization."""

from collections.abc import Iterable, Iterator, Sequence
from functools import partial
from itertools import chain
from typing import Annotated, Literal

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanMetric, MetricCollection

from flik_lab.models.adversarial_steps import optimize_step, optimizer_pair
from flik_lab.models.contracts import UnpairedImageData
from flik_lab.models.cyclegan_losses import discriminator_loss, lsgan_loss, shape_loss
from flik_lab.models.finite_loss import BatchSteps, NonfiniteLoss
from flik_lab.models.image_pool import POOL_SIZE, ImagePool
from flik_lab.models.optimization import OptimizerFactory, SchedulerFactory, build_optimizer, check_optimizer
from flik_lab.models.semantic_consistency import DigitReader, DigitReaders, ReaderSettings, cached_reader
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
NETWORKS = ("generator_ab", "generator_ba", "discriminator_a", "discriminator_b", "content_classifier")
# what training logs (`train/<name>`), in this order; a term switched off is left out
LOSS_NAMES = ("loss_g", "loss_d", "cycle", "identity", "shape", "semantic", "reader_b")


def _old_reader_keys(module, state_dict, prefix, *args) -> None:
    """Checkpoints name B's readers `label_classifiers_b.<i>.`, or, from before B had one reader per A
    reader, `label_classifier_b.` (which becomes every B reader: translation never reads them)."""
    if module.readers_b is None:  # such keys are then unexpected, as any other
        return
    for key in [k for k in state_dict if k.startswith(f"{prefix}label_classifier")]:
        value, rest = state_dict.pop(key), key[len(prefix) :]
        if rest.startswith("label_classifiers_b."):
            state_dict[f"{prefix}readers_b.{rest[len('label_classifiers_b.') :]}"] = value
        else:
            for index in range(len(module.readers_b)):
                state_dict[f"{prefix}readers_b.{index}.{rest[len('label_classifier_b.') :]}"] = value


def _frozen(network: nn.Module | None) -> nn.Module | None:
    """`network` in eval mode without gradients."""
    return None if network is None else network.eval().requires_grad_(False)


def _reader_channels(generator_ab: nn.Module) -> int:
    """The image channels B's readers read: the generator's `channels`."""
    channels = getattr(generator_ab, "channels", None)
    if not isinstance(channels, int):
        raise ArgumentError("generator_ab", type(generator_ab).__name__, "a generator with `channels`")
    return channels


def _valid_rows(batch: dict, domain: str) -> torch.Tensor:
    """The mask of `domain`'s real rows in an evaluation batch (all of them without `valid_<domain>`)."""
    images = batch[domain]
    return batch.get(f"valid_{domain}", torch.ones(len(images), dtype=torch.bool, device=images.device))


def evaluation_metrics() -> MetricCollection:
    """`cycle_l1`: the mean of the two directions' mean |F(G(a)) - a| and |G(F(b)) - b|, each over its
    domain's images (domains of different sizes weigh alike); `content_*`: translations read right."""
    cycle_a, cycle_b = MeanMetric(), MeanMetric()
    return MetricCollection(
        {
            "cycle_l1": 0.5 * (cycle_a + cycle_b),
            "content_a2b": MeanMetric(),
            "content_b2a": MeanMetric(),
        },
        compute_groups=False,  # each is updated on its own inputs
    )


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
        settings = ReaderSettings.checked(reader_epochs, reader_seeds, reader_networks, reader_jitter)
        reader_seeds, reader_networks = settings.seeds, settings.networks  # saved as plain lists
        check_optimizer("optimizer_g", optimizer_g)
        check_optimizer("optimizer_d", optimizer_d)
        self.save_hyperparameters(ignore=[*NETWORKS, "optimizer_g", "optimizer_d", "scheduler"], logger=False)
        self.optimizer_g, self.optimizer_d, self.scheduler = optimizer_g, optimizer_d, scheduler
        self.automatic_optimization = False  # two optimizers; Lightning's clipping is ours to do
        self.generator_ab, self.generator_ba = generator_ab, generator_ba
        self.discriminator_a, self.discriminator_b = discriminator_a, discriminator_b
        # a frozen digit classifier: "content kept" = it gives a translated image the source's label
        self.content_classifier = _frozen(content_classifier)
        self.pools = {"a": ImagePool(pool_size), "b": ImagePool(pool_size)}  # not saved
        self.eval_metrics = nn.ModuleDict({stage: evaluation_metrics() for stage in ("val", "test")})
        self.skipped_steps = 0  # steps skipped for a non-finite loss (nonfinite_loss=skip)
        self.loss_names, self.losses = self._loss_names(), {}  # the losses computed; this batch's, by name
        self.reader_settings, self._data = settings, None  # the data: `use_data`'s
        self._readers_a: list[DigitReaders] = []  # fitted in setup; in a list: neither trained nor saved
        self.readers_b = self._new_readers_b(generator_ab)
        self.register_load_state_dict_pre_hook(_old_reader_keys)

    def _new_readers_b(self, generator_ab: nn.Module) -> DigitReaders | None:
        """B's readers, one per A reader, each to start as it and learn from G(a) with a's label; None
        without the semantic term or its pseudo-labels."""
        if self.hparams.lambda_semantic == 0 or self.hparams.pseudo_label_confidence is None:
            return None
        channels = _reader_channels(generator_ab)
        return DigitReaders(
            DigitReader(channels, network=network) for network, _ in self.reader_settings.readers()
        )

    def _loss_names(self) -> list[str]:
        """The losses this configuration computes."""
        hp = self.hparams
        off = {
            "identity": hp.lambda_identity == 0,
            "shape": hp.lambda_shape == 0,
            "semantic": hp.lambda_semantic == 0,
            "reader_b": hp.lambda_semantic == 0 or hp.pseudo_label_confidence is None,
        }
        return [name for name in LOSS_NAMES if not off.get(name, False)]

    def use_data(self, data: UnpairedImageData) -> None:
        """The data A's readers are fitted on (`models/connect.py` hands it over)."""
        self._data = data

    @property
    def readers_a(self) -> DigitReaders | None:
        """A's readers, once fitted (or set by `use_readers_a`)."""
        return self._readers_a[0] if self._readers_a else None

    def use_readers_a(self, readers: Iterable[nn.Module]) -> None:
        """Read G(a) and F(b) with `readers` (frozen), jittered under `reader_jitter`."""
        self._readers_a[:] = [DigitReaders(readers, jitter=self.reader_settings.jitter)]

    def setup(self, stage: str) -> None:
        if self.hparams.unused_parameters == "find":
            # each backward pass leaves the other pair of networks without gradients: DDP's reducer must
            # look for unused parameters (Lightning #20328); set before the model is wrapped
            find_unused_parameters(self.trainer.strategy)
        if stage == "fit" and self.hparams.lambda_semantic > 0 and self.readers_a is None:
            self.use_readers_a(self._fit_readers_a())
            if self.readers_b is not None:  # each starts as its A reader; a resumed run's are then restored
                for reader_b, reader_a in zip(self.readers_b, self.readers_a, strict=True):
                    reader_b.load_state_dict(reader_a.state_dict())

    def _fit_readers_a(self) -> list[DigitReader]:
        """A's readers, fitted on A's labelled training images (cached in the data's folder)."""
        if self._data is None:
            raise RuntimeError(
                "lambda_semantic needs the data's labels: connect the model (models/connect.py)"
            )
        images, labels = (t.cpu() for t in self._data.labelled_train_images("a"))
        settings, cache = self.reader_settings, self._data.cache_dir()
        return [
            cached_reader(images, labels, cache, epochs=settings.epochs, seed=seed, network=network)
            for network, seed in settings.readers()
        ]

    def on_fit_start(self) -> None:
        if self.readers_a is not None:  # after Lightning has moved the model to its device
            self.readers_a.to(self.device)

    def generator_parameters(self) -> Iterator[nn.Parameter]:
        return chain(self.generator_ab.parameters(), self.generator_ba.parameters())

    def discriminator_parameters(self) -> Iterator[nn.Parameter]:
        """D_A's and D_B's, and B's readers' (trained in the same step, on G(a))."""
        readers = [] if self.readers_b is None else self.readers_b.parameters()
        return chain(self.discriminator_a.parameters(), self.discriminator_b.parameters(), readers)

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
        opt_g, opt_d = self.optimizers()
        steps = BatchSteps(self)  # before the first forward pass: a skipped step undoes what they changed
        fakes = {"b": self.generator_ab(batch["a"]), "a": self.generator_ba(batch["b"])}
        self.losses = {}
        # the paper's order: G and F first, against the current D's
        g_loss = partial(self._generator_loss, batch, fakes)
        d_loss = partial(self._discriminator_loss, batch, fakes)
        loss_g = optimize_step(self, steps, opt_g, g_loss, "train/loss_g", batch_idx)
        loss_d = optimize_step(self, steps, opt_d, d_loss, "train/loss_d", batch_idx)
        for scheduler in self.lr_schedulers() or []:  # manual optimization: Lightning does not step them
            scheduler.step()
        if not steps.skipped and self._writes_logs_this_batch():
            self.losses |= {"loss_g": loss_g, "loss_d": loss_d}
            logged = {f"train/{name}": self.losses[name].detach() for name in self.loss_names}
            self.log_dict(logged, prog_bar=True)

    def _generator_loss(self, batch: dict, fakes: dict) -> torch.Tensor:
        """G's and F's: fool both discriminators, plus each weighted term this configuration computes."""
        fooled_b = lsgan_loss(self.discriminator_b(fakes["b"]), 1.0)
        loss = fooled_b + lsgan_loss(self.discriminator_a(fakes["a"]), 1.0)
        hp = self.hparams
        terms = {
            "cycle": (self._cycle_loss, hp.lambda_cycle),
            "shape": (self._shape_loss, hp.lambda_shape),
            "semantic": (self._semantic_loss, hp.lambda_semantic),
            "identity": (self._identity_loss, hp.lambda_cycle * hp.lambda_identity),
        }
        for name, (term, weight) in terms.items():  # in this order: the noise and jitter draw in it
            if name in self.loss_names:
                self.losses[name] = term(batch, fakes)
                loss = loss + weight * self.losses[name]
        return loss

    def _cycle_loss(self, batch: dict, fakes: dict) -> torch.Tensor:
        """F(G(a)) ~ a and G(F(b)) ~ b, in L1; noise on G(a) drowns any signal hidden below its level."""
        cycle_a = F.l1_loss(self.generator_ba(self._noisy(fakes["b"])), batch["a"])
        return cycle_a + F.l1_loss(self.generator_ab(self._noisy(fakes["a"])), batch["b"])

    def _shape_loss(self, batch: dict, fakes: dict) -> torch.Tensor:
        """Each translation keeps its source's coarse layout (`shape_loss`)."""
        window = self.hparams.shape_pool
        return shape_loss(fakes["b"], batch["a"], window) + shape_loss(fakes["a"], batch["b"], window)

    def _identity_loss(self, batch: dict, fakes: dict) -> torch.Tensor:
        """A generator fed its own target domain should leave it unchanged."""
        real_a, real_b = batch["a"], batch["b"]
        return F.l1_loss(self.generator_ab(real_b), real_b) + F.l1_loss(self.generator_ba(real_a), real_a)

    def _semantic_loss(self, batch: dict, fakes: dict) -> torch.Tensor:
        """CyCADA's semantic consistency: A's readers give G(a) the label of a (rows without one, -1, left
        out), F(b) the label B's readers give b where their mean is confident; B's labels are never read."""
        loss = self.readers_a.cross_entropy(fakes["b"], batch["label_a"])
        if self.readers_b is None:  # pseudo_label_confidence=null: G(a) only
            return loss
        pseudo_labels = self.readers_b.pseudo_labels(batch["b"], self.hparams.pseudo_label_confidence)
        loss = loss + self.readers_a.cross_entropy(fakes["a"], pseudo_labels)
        return loss + self._touch(self.readers_b)  # B's readers train only in D's step

    def _discriminator_loss(self, batch: dict, fakes: dict) -> torch.Tensor:
        """0.5 x LSGAN per discriminator, as the paper halves D's rate, on pooled generated images; plus B's
        readers' loss on G(a), which carries a's label."""
        pooled_a, pooled_b = self.pools["a"].query(fakes["a"]), self.pools["b"].query(fakes["b"])
        loss_a = discriminator_loss(self.discriminator_a, batch["a"], pooled_a)
        loss = 0.5 * (loss_a + discriminator_loss(self.discriminator_b, batch["b"], pooled_b))
        if self.readers_b is not None:
            self.losses["reader_b"] = self.readers_b.cross_entropy(fakes["b"].detach(), batch["label_a"])
            loss = loss + self.losses["reader_b"]
        return loss + self._touch(self.generator_ab, self.generator_ba)  # G and F

    def _touch(self, *networks: nn.Module) -> torch.Tensor | float:
        """Under `unused_parameters=touch`, 0 x every parameter of `networks`: zero gradients, not none."""
        if self.hparams.unused_parameters != "touch":
            return 0.0
        return 0.0 * sum(p.sum() for network in networks for p in network.parameters())

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

    def _evaluate(self, batch: dict, stage: str) -> dict[str, torch.Tensor]:
        """Score the real rows of `batch` (`valid_a` / `valid_b` masks: the shorter domain's rows cycle to
        fill its batches); returns the translations, which Lightning hands to the callbacks' batch-end hooks
        as `outputs` (the style scores use them instead of translating again)."""
        real_a, real_b = batch["a"], batch["b"]
        valid = {domain: _valid_rows(batch, domain) for domain in "ab"}
        fake_b, fake_a = self.generator_ab(real_a), self.generator_ba(real_b)
        cycle_l1 = self.eval_metrics[stage]["cycle_l1"]
        cycle_a, cycle_b = cycle_l1.metric_b.metric_a, cycle_l1.metric_b.metric_b  # 0.5 * (a + b)
        cycle_a.update((self.generator_ba(fake_b) - real_a).abs().flatten(1).mean(1)[valid["a"]])
        cycle_b.update((self.generator_ab(fake_a) - real_b).abs().flatten(1).mean(1)[valid["b"]])
        self.log(f"{stage}/cycle_l1", cycle_l1, prog_bar=stage == "val")
        if self.content_classifier is not None:
            self._update_content(batch, stage, valid, {"a2b": fake_b, "b2a": fake_a})
        return {"fake_a": fake_a, "fake_b": fake_b}

    def _update_content(self, batch: dict, stage: str, valid: dict, fakes: dict) -> None:
        """How many of each direction's translations the content classifier gives their source's label."""
        for direction, fake in fakes.items():
            source = direction[0]
            label = batch.get(f"label_{source}")
            if label is None:
                continue
            keep = valid[source] & (label >= 0)
            if keep.any():
                metric = self.eval_metrics[stage][f"content_{direction}"]
                metric.update((self.content_classifier(fake[keep].float()).argmax(1) == label[keep]).float())
                self.log(f"{stage}/content_{direction}", metric, prog_bar=stage == "val")

    def kept_content(self, stage: str) -> list[torch.Tensor]:
        """This epoch's `content_a2b`, `content_b2a` so far, those that were scored."""
        metrics = self.eval_metrics[stage]
        return [
            metrics[n].compute().float() for n in ("content_a2b", "content_b2a") if metrics[n].update_called
        ]

    def validation_step(self, batch, batch_idx: int) -> dict[str, torch.Tensor]:
        return self._evaluate(batch, "val")

    def test_step(self, batch, batch_idx: int) -> dict[str, torch.Tensor]:
        return self._evaluate(batch, "test")
