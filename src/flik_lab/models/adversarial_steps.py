"""What the two-player modules (GAN, CycleGAN) share: a generator/discriminator optimizer pair with its
schedules, and one manual optimizer step."""

from contextlib import nullcontext

import lightning as L
import torch
from torch.optim import Optimizer

from flik_lab.models.finite_loss import BatchSteps
from flik_lab.models.optimization import SchedulerFactory, batches_of_run, build_scheduler


def optimizer_pair(
    module: L.LightningModule, opt_g: Optimizer, opt_d: Optimizer, scheduler: SchedulerFactory | None
):
    """`configure_optimizers`' answer: both optimizers, each with its schedule (stepped once per batch)."""
    if scheduler is None:
        return opt_g, opt_d
    steps = batches_of_run(module.trainer, optimizer_steps_per_batch=2)
    return [opt_g, opt_d], [build_scheduler(scheduler, opt, steps) for opt in (opt_g, opt_d)]


def optimize_step(
    module: L.LightningModule, steps: BatchSteps, optimizer, loss_fn, name: str, batch_idx: int
) -> torch.Tensor | None:
    """One step of `optimizer` on `loss_fn()` (logged as `name`), computed with only its networks trainable
    (`unused_parameters=find`). Under `nonfinite_loss=skip`, no step when the loss is not finite, and none,
    nor `loss_fn()`, once `steps` skipped one (then None)."""
    hparams = module.hparams
    if steps.skipped:
        steps.skip()
        return None
    toggled = module.toggled_optimizer(optimizer) if hparams.unused_parameters == "find" else nullcontext()
    with toggled:
        loss = loss_fn()
        if steps.take(name, loss, batch_idx):
            optimizer.zero_grad(set_to_none=True)
            module.manual_backward(loss)
            if hparams.grad_clip_norm is not None:
                module.clip_gradients(optimizer, hparams.grad_clip_norm, "norm")
            optimizer.step()
    return loss.detach()
