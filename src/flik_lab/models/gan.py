"""The GAN exercise as a LightningModule: two optimizers, manual optimization, FID validation."""

from functools import partial
from typing import Annotated, Literal

import lightning as L
import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance

from flik_lab.models.adversarial_steps import optimize_step, optimizer_pair
from flik_lab.models.ema import EMA_DECAY, ema_copy
from flik_lab.models.finite_loss import BatchSteps, NonfiniteLoss
from flik_lab.models.gan_losses import GanLoss, discriminator_loss, generator_loss, r1_penalty
from flik_lab.models.optimization import (
    OptimizerFactory,
    SchedulerFactory,
    build_optimizer,
    check_optimizer,
)
from flik_lab.utils.arguments import Count, Positive, check_declared
from flik_lab.utils.lightning_internals import find_unused_parameters

# how each backward pass copes with the network it does not train, which DDP's reducer rejects:
# "find": toggle the other network off and let DDP search for unused parameters (the default);
# "touch": no toggling, a zero-weighted term reaches every parameter, so DDP needs no search
UnusedParameters = Literal["find", "touch"]
DCGAN_ADAM = partial(torch.optim.Adam, betas=(0.5, 0.999))  # Radford et al. 2015; without `optimizer_*`


class GAN(L.LightningModule):
    """GAN (Goodfellow et al. 2014) with one D step and one G step per batch; with `ema_decay`, samples,
    FID and checkpoints' `forward` use a moving average of the generator's weights; `r1_gamma` adds R1."""

    data_kind = "images"  # a DataModule must list it in its `data_kinds`

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        latent_dim: Positive[int] = 100,
        lr_g: Positive[float] = 2e-4,
        lr_d: Positive[float] = 2e-4,
        optimizer_g: OptimizerFactory | None = None,
        optimizer_d: OptimizerFactory | None = None,
        scheduler: SchedulerFactory | None = None,
        grad_clip_norm: Positive[float] | None = None,
        fid: FrechetInceptionDistance | None = None,
        unused_parameters: UnusedParameters = "find",
        nonfinite_loss: NonfiniteLoss = "error",
        eval_seed: int = 0,
        ema_decay: Annotated[float, EMA_DECAY] | None = None,
        loss: GanLoss = "nonsaturating",
        r1_gamma: Positive[float] | None = None,
        r1_every: Count = 1,
    ):
        check_declared(GAN.__init__, locals())
        super().__init__()
        check_optimizer("optimizer_g", optimizer_g)
        check_optimizer("optimizer_d", optimizer_d)
        self.save_hyperparameters(
            ignore=["generator", "discriminator", "fid", "optimizer_g", "optimizer_d", "scheduler"],
            logger=False,
        )
        self.optimizer_g, self.optimizer_d, self.scheduler = optimizer_g, optimizer_d, scheduler
        # Lightning refuses Trainer(gradient_clip_val) under manual optimization: we clip ourselves
        self.automatic_optimization = False
        self.generator = generator
        # the average that is sampled and evaluated; saved in checkpoints beside the raw generator
        self.generator_ema = None if ema_decay is None else ema_copy(generator, ema_decay)
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.fid = fid
        self.example_input_array = torch.zeros(2, latent_dim)  # the model summary's sizes and FLOPs
        self.skipped_steps = 0  # steps skipped for a non-finite loss (nonfinite_loss=skip)
        self._eval_noise: torch.Generator | None = None

    def setup(self, stage: str) -> None:
        self._forget_val_reals()  # each fit/validate/test call reads its own data
        if self.hparams.unused_parameters == "find":
            # each of the two backward passes leaves the other network without gradients: DDP's reducer
            # must look for unused parameters (Lightning #20328); set before the model is wrapped
            find_unused_parameters(self.trainer.strategy)

    @property
    def sampler(self) -> nn.Module:
        """The generator that samples, FID, `sample` and `latent` use: the moving average if there is one."""
        return self.generator if self.generator_ema is None else self.generator_ema

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.sampler(z)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """`n` latent vectors from the N(0, I) prior, on the module's device."""
        z = torch.randn(n, self.latent_dim, generator=generator)
        return z.to(self.device)

    def configure_optimizers(self):
        opt_g = build_optimizer(self.optimizer_g, self.generator.parameters(), self.hparams.lr_g, DCGAN_ADAM)
        opt_d = build_optimizer(
            self.optimizer_d, self.discriminator.parameters(), self.hparams.lr_d, DCGAN_ADAM
        )
        return optimizer_pair(self, opt_g, opt_d, self.scheduler)

    def training_step(self, batch, batch_idx: int) -> None:
        real = batch[0]
        opt_g, opt_d = self.optimizers()
        steps = BatchSteps(self)  # before the first forward pass: a skipped step undoes what they changed
        fake = self.generator(self.noise(real.shape[0]))  # one G forward serves both steps
        kind = self.hparams.loss
        logits = {}

        gamma, every = self.hparams.r1_gamma, self.hparams.r1_every
        # lazy R1 (StyleGAN2): every `r1_every`-th batch, weighted by r1_every
        r1_gamma = None if gamma is None or batch_idx % every else gamma * every

        def d_loss() -> torch.Tensor:
            seen = real.detach().requires_grad_(True) if r1_gamma is not None else real
            logits["real"] = self.discriminator(seen)
            logits["fake"] = self.discriminator(fake.detach())
            loss = discriminator_loss(kind, logits["real"], logits["fake"])
            if r1_gamma is not None:
                loss = loss + r1_penalty(logits["real"], seen, r1_gamma)
            if self.hparams.unused_parameters == "touch":  # G gets zero gradients instead of none
                loss = loss + 0.0 * sum(p.sum() for p in self.generator.parameters())
            return loss

        def g_loss() -> torch.Tensor:
            return generator_loss(kind, self.discriminator(fake))

        loss_d = optimize_step(self, steps, opt_d, d_loss, "train/loss_d", batch_idx)
        loss_g = optimize_step(self, steps, opt_g, g_loss, "train/loss_g", batch_idx)
        if self.generator_ema is not None and not steps.skipped:
            self.generator_ema.update_parameters(self.generator)
        # manual optimization: Lightning does not step them; once per batch, skipped or not, as Lightning
        # steps the single-optimizer models' schedules
        for scheduler in self.lr_schedulers() or []:
            scheduler.step()
        if not steps.skipped and self._writes_logs_this_batch():
            d_real, d_fake = (torch.sigmoid(logits[k].detach().float()).mean() for k in ("real", "fake"))
            metrics = {
                "train/loss_d": loss_d,
                "train/loss_g": loss_g,
                "train/d_real": d_real,
                "train/d_fake": d_fake,
            }
            self.log_dict(metrics, prog_bar=True)

    def _writes_logs_this_batch(self) -> bool:
        """Whether Lightning writes step metrics after this batch (every `log_every_n_steps` batches).

        Each `self.log` call costs about 0.6 ms, 10 % of a small GAN step on a CPU; values logged on
        the other batches would be dropped anyway. `global_step` is 2 per finished batch (two optimizers).
        """
        every = self.trainer.log_every_n_steps
        batch = self.global_step // 2  # counts this batch: its two steps have been taken
        return bool(self.trainer.fast_dev_run) or (every > 0 and batch % every == 0)

    def _start_eval_noise(self) -> None:
        # evaluation draws its own noise, so a checkpoint's FID depends on its weights and eval_seed only,
        # never on how much randomness training used before (train-time test == `flik-lab eval`)
        seed = self.hparams.eval_seed * 1_000_003 + self.global_rank
        self._eval_noise = torch.Generator().manual_seed(seed)

    def _update_fid(self, batch, stage: str) -> None:
        if self.fid is None:
            return
        real = batch[0]
        # with `reset_real_features` off, the FID still holds the validation digits from an earlier epoch
        if stage != "val" or self.fid.reset_real_features:
            self.fid.update(real, real=True)
        self.fid.update(self.sampler(self.noise(real.shape[0], generator=self._eval_noise)), real=False)

    def _log_fid(self, stage: str) -> None:
        if self.fid is None:
            return
        self.log(f"{stage}/fid", self.fid.compute().float(), prog_bar=True)
        # torchmetrics keeps the real statistics through `reset` unless `reset_real_features`; not after the
        # sanity check (it may read part of the set) or when the loaders are reloaded (the set may change)
        trainer = self.trainer
        reloads = trainer.reload_dataloaders_every_n_epochs
        keep = stage == "val" and not trainer.sanity_checking and not reloads
        self.fid.reset_real_features = not keep
        self.fid.reset()

    def _forget_val_reals(self) -> None:
        if self.fid is not None:
            self.fid.reset_real_features = True
            self.fid.reset()

    def on_validation_epoch_start(self) -> None:
        self._start_eval_noise()

    def validation_step(self, batch, batch_idx: int) -> None:
        self._update_fid(batch, "val")

    def on_validation_epoch_end(self) -> None:
        self._log_fid("val")

    def on_test_epoch_start(self) -> None:
        self._start_eval_noise()

    def test_step(self, batch, batch_idx: int) -> None:
        self._update_fid(batch, "test")

    def on_test_epoch_end(self) -> None:
        self._log_fid("test")
