"""Optimizers and learning-rate schedules from config: `_partial_` nodes that the module completes.

`model.optimizer` (`optimizer_g` / `optimizer_d` for GANs) is a partial optimizer class called with the
parameters and the module's learning rate; `model.scheduler` a partial schedule called with the optimizer
and the number of training steps. Both are stepped once per optimizer step.
"""

import math
from collections.abc import Callable, Iterable
from functools import partial
from typing import Annotated, Any

import torch
from lightning import LightningModule
from omegaconf import DictConfig, ListConfig, OmegaConf
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR, LRScheduler

from flik_lab.utils.arguments import ArgumentError, Fraction, Range, check_declared

OptimizerFactory = Callable[..., Optimizer]  # (params, lr=...) -> Optimizer
SchedulerFactory = Callable[..., LRScheduler]  # (optimizer, total_steps) -> LRScheduler
Ratio = Annotated[float, Range(0, "a number in [0, 1]", maximum=1)]


def check_optimizer(name: str, factory: OptimizerFactory | None) -> None:
    """The learning rate comes from the module (`lr`, `lr_g`, …): a node that sets its own is refused."""
    if "lr" in getattr(factory, "keywords", {}):
        raise ArgumentError(
            f"{name}.lr", factory.keywords["lr"], "no lr here: the module's learning rate sets it"
        )


def _plain(value: Any) -> Any:
    # OmegaConf containers in an optimizer's param_groups would make its checkpoints unloadable weights-only
    return OmegaConf.to_container(value) if isinstance(value, DictConfig | ListConfig) else value


def build_optimizer(
    factory: OptimizerFactory | None,
    params: Iterable[torch.nn.Parameter],
    lr: float,
    default: OptimizerFactory,
) -> Optimizer:
    """`factory(params, lr=lr)`, or `default` when no factory is configured."""
    factory = factory or default
    if isinstance(factory, partial):
        keywords = {key: _plain(value) for key, value in factory.keywords.items()}
        return factory.func(params, *map(_plain, factory.args), lr=lr, **keywords)
    return factory(params, lr=lr)


def build_scheduler(
    factory: SchedulerFactory | None, optimizer: Optimizer, total_steps: int
) -> LRScheduler | None:
    return None if factory is None else factory(optimizer, total_steps=int(total_steps))


def batches_of_run(trainer, optimizer_steps_per_batch: int = 1) -> int:
    """The training batches a run takes, which sizes a schedule stepped once per batch. Lightning's
    estimate is min(epochs x batches, `max_steps`), and `max_steps` counts optimizer steps: a manually
    optimized GAN takes two per batch, so its runs end after `max_steps / 2` batches."""
    total = trainer.estimated_stepping_batches
    if trainer.max_steps == -1 or optimizer_steps_per_batch == 1:
        return total
    return min(total, math.ceil(trainer.max_steps / optimizer_steps_per_batch))


def single_optimizer(
    module: LightningModule,
    factory: OptimizerFactory | None,
    scheduler: SchedulerFactory | None,
    default: OptimizerFactory,
) -> Optimizer | dict:
    """`configure_optimizers`' answer for a module with one optimizer over all its parameters at `hparams.lr`,
    and its schedule, if any, stepped once per optimizer step."""
    optimizer = build_optimizer(factory, module.parameters(), module.hparams.lr, default)
    if scheduler is None:
        return optimizer
    schedule = build_scheduler(scheduler, optimizer, module.trainer.estimated_stepping_batches)
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


def _warmup_then(
    optimizer: Optimizer,
    total_steps: int,
    warmup_steps: int,
    min_lr_ratio: float,
    decay: Callable[[float], float],
) -> LambdaLR:
    """lr x a factor rising linearly from 0 over `warmup_steps`, then falling from 1 to `min_lr_ratio`
    along `decay` (1 at the start of the decay, 0 at `total_steps`)."""
    if warmup_steps < 0 or warmup_steps > total_steps:
        raise ArgumentError("warmup_steps", warmup_steps, f"0 to the {total_steps} training steps")

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return min_lr_ratio + (1 - min_lr_ratio) * decay(progress)

    return LambdaLR(optimizer, factor)


def warmup_cosine(
    optimizer: Optimizer, total_steps: int, warmup_steps: int = 0, min_lr_ratio: Ratio = 0.0
) -> LambdaLR:
    """Linear warm-up from 0 over `warmup_steps`, then a cosine from lr down to `min_lr_ratio` x lr."""
    check_declared(warmup_cosine, locals())
    return _warmup_then(
        optimizer, total_steps, warmup_steps, min_lr_ratio, lambda p: 0.5 * (1 + math.cos(math.pi * p))
    )


def warmup_linear(
    optimizer: Optimizer, total_steps: int, warmup_steps: int = 0, min_lr_ratio: Ratio = 0.0
) -> LambdaLR:
    """Linear warm-up from 0 over `warmup_steps`, then a straight line from lr down to `min_lr_ratio` x lr."""
    check_declared(warmup_linear, locals())
    return _warmup_then(optimizer, total_steps, warmup_steps, min_lr_ratio, lambda p: 1 - p)


def linear_decay(
    optimizer: Optimizer, total_steps: int, constant_fraction: Fraction = 0.5, min_lr_ratio: Ratio = 0.0
) -> LambdaLR:
    """CycleGAN's schedule: lr constant for the first `constant_fraction` of the training steps, then a
    straight line down to `min_lr_ratio` x lr at the last step. "Decay after epoch N of M" is N / M: the
    paper's 100 constant + 100 decaying epochs are 0.5 (a fraction, so any run length keeps the shape)."""
    check_declared(linear_decay, locals())
    constant_steps = int(constant_fraction * total_steps)

    def factor(step: int) -> float:
        progress = min(1.0, max(0, step - constant_steps) / max(1, total_steps - constant_steps))
        return min_lr_ratio + (1 - min_lr_ratio) * (1 - progress)

    return LambdaLR(optimizer, factor)
