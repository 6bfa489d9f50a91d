"""The one divergence rule, for every model: a run whose logged metrics or weights are no longer numbers
stops with an error naming what diverged and when, before any checkpoint of that state is written.

A run has diverged when
- a logged metric is NaN or infinite (`train/loss`, `val/loss`, `val/perplexity`, ...): checked where
  Lightning writes step metrics (every `log_every_n_steps` batches), after each validation and at the end of
  each training epoch;
- a weight is NaN or infinite, or a parameter exceeds `MAX_ABS_WEIGHT` in magnitude: checked after each
  validation, at the end of each training epoch and before any checkpoint is written.
The models' own check of each training loss (`models/finite_loss.py`) stops the run at the very step.
"""

import lightning as L
import torch
from lightning.pytorch.trainer.states import TrainerFn
from torch import nn

from flik_lab.utils.lightning_internals import logs_this_batch

# float32 has 24 significant bits: at |w| = 1e6 neighbouring values are 0.0625 apart, so an optimizer step
# below ~0.03 (Adam's steps are about lr, 1e-3 here) no longer changes the weight; healthy networks keep
# theirs within ~1e2 of their O(1) initialisation. A larger weight is a run that has left the numbers it
# can train with (lr=1e30 puts 4e30 in the translator after one step, with a finite loss).
MAX_ABS_WEIGHT = 1e6


class NonFiniteMetricError(FloatingPointError):
    """A logged metric became NaN or infinite (the run diverged)."""


class DivergedWeightsError(FloatingPointError):
    """A weight became NaN or infinite, or a parameter grew beyond `MAX_ABS_WEIGHT` (the run diverged)."""


def _shown(items: list[str]) -> str:
    return ", ".join(items[:5]) + (f" and {len(items) - 5} more" if len(items) > 5 else "")


def _where(trainer: L.Trainer) -> str:
    return f"epoch {trainer.current_epoch}, global step {trainer.global_step}"


def check_metrics(trainer: L.Trainer) -> None:
    """Raise `NonFiniteMetricError` naming each metric Lightning holds (`trainer.callback_metrics`) that is
    NaN or infinite; every DDP rank raises when one does. One device sync for all of them."""
    metrics = {
        name: value
        for name, value in trainer.callback_metrics.items()
        if torch.is_tensor(value) and value.is_floating_point()
    }
    device = trainer.strategy.root_device
    finite = (
        bool(torch.stack([torch.isfinite(v).all().to(device) for v in metrics.values()]).all())
        if metrics
        else True
    )
    if trainer.strategy.reduce_boolean_decision(finite, all=True):
        return
    bad = [f"{name} = {value.item()}" for name, value in metrics.items() if not torch.isfinite(value).all()]
    raise NonFiniteMetricError(
        f"{_shown(bad) or 'a metric on another DDP rank'} at {_where(trainer)}: the run diverged."
        " Lower the learning rate or clip gradients"
    )


def _persistent_buffers(module: nn.Module) -> list[tuple[str, torch.Tensor]]:
    # what a checkpoint holds besides the parameters (non-persistent buffers are constants)
    names = {name for name, _ in module.named_parameters()}
    return [
        (name, value)
        for name, value in module.state_dict(keep_vars=True).items()
        if name not in names and torch.is_tensor(value) and value.is_floating_point()
    ]


def _largest_magnitude(tensor: torch.Tensor) -> torch.Tensor:
    # max |x| without an |x| copy of the tensor; NaN when it holds one
    low, high = torch.aminmax(tensor)
    return torch.maximum(high, -low)


def check_weights(trainer: L.Trainer, module: nn.Module, bound: float = MAX_ABS_WEIGHT, saving: bool = False):
    """Raise `DivergedWeightsError` naming each parameter that is NaN, infinite or beyond `bound` in magnitude
    and each floating-point buffer (BatchNorm's statistics, ...) that is NaN or infinite. One device sync."""
    params = [(name, p.detach()) for name, p in module.named_parameters() if p.numel()]
    buffers = [(name, b.detach()) for name, b in _persistent_buffers(module) if b.numel()]
    largest = [_largest_magnitude(p) for _, p in params]
    checks = [value <= bound for value in largest]  # False for NaN too
    checks += [torch.isfinite(b).all() for _, b in buffers]
    if not checks or bool(torch.stack(checks).all()):
        return
    bad = [
        f"{name} (max |w| {value.item():.3g})"
        for (name, _), value in zip(params, largest, strict=True)
        if not value <= bound
    ]
    bad += [f"{name} (non-finite)" for name, b in buffers if not torch.isfinite(b).all()]
    action = "not saving a checkpoint" if saving else "stopping"
    raise DivergedWeightsError(
        f"{action} at {_where(trainer)}: weights NaN, infinite or beyond |w| {bound:g} in {_shown(bad)};"
        " the run diverged. Lower the learning rate or clip gradients"
    )


class StopOnDivergence(L.Callback):
    """Applies the rule above to every run (training.py adds it). Lightning runs the ModelCheckpoint callbacks
    last, so this one raises before they save: a diverged state is never written."""

    def __init__(self, max_abs_weight: float = MAX_ABS_WEIGHT):
        self.max_abs_weight = max_abs_weight

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args) -> None:
        if logs_this_batch(trainer):  # Lightning reads the values back then anyway: no sync per batch
            check_metrics(trainer)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING:
            return
        check_weights(trainer, pl_module, self.max_abs_weight)
        check_metrics(trainer)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        check_weights(trainer, pl_module, self.max_abs_weight)
        check_metrics(trainer)

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        check_weights(trainer, pl_module, self.max_abs_weight, saving=True)
