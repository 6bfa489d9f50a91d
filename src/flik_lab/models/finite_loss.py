"""What a training step does with a NaN or infinite loss: stop the run naming it, or skip the step.

`BatchSteps` is how every model takes its steps: one per training batch, made before the batch's first
forward pass. The rest of the divergence rule (metrics, weights) is `callbacks/divergence.py`'s.
"""

from typing import Literal

import lightning as L
import torch
from torch import nn

NonfiniteLoss = Literal["error", "skip"]  # `nonfinite_loss`: stop the run, or skip the step


class NonFiniteLossError(FloatingPointError):
    """A training loss became NaN or infinite (the run diverged)."""


def take_step(module: L.LightningModule, name: str, loss: torch.Tensor, policy: str, batch_idx: int) -> bool:
    """True when `loss` is finite on every DDP rank. Otherwise raise `NonFiniteLossError` naming the metric
    and step (`policy="error"`), or count the step in `train/skipped_steps` and return False (`"skip"`)."""
    finite = bool(torch.isfinite(loss.detach()).all())
    trainer = module.trainer
    finite = trainer.strategy.reduce_boolean_decision(finite, all=True)  # all ranks step or none
    if finite:
        return True
    where = f"epoch {trainer.current_epoch}, batch {batch_idx}, global step {trainer.global_step}"
    if policy == "error":
        raise NonFiniteLossError(
            f"{name} = {loss.detach().float().item()} at {where}: the run diverged."
            " Lower the learning rate or clip gradients; model.nonfinite_loss=skip skips such steps"
        )
    count_skipped(module)
    return False


def count_skipped(module: L.LightningModule) -> None:
    module.skipped_steps += 1
    module.log("train/skipped_steps", float(module.skipped_steps), reduce_fx="max")


def _stateful_buffers(module: nn.Module) -> list[torch.Tensor]:
    """The buffers a forward pass in training mode may change: the persistent ones (BatchNorm's running
    statistics and batch counts, spectral norm's singular vectors) of submodules in training mode.
    Non-persistent buffers (positional encodings) are constants."""
    return [
        buffer
        for submodule in module.modules()
        if submodule.training
        for name, buffer in submodule._buffers.items()  # a third of named_buffers()' time; once a batch
        if buffer is not None and name not in submodule._non_persistent_buffers_set
    ]


class BatchSteps:
    """The optimizer steps of one training batch under `module.hparams.nonfinite_loss`.

    Under "skip", a step whose loss is not finite leaves no trace: the buffers that its forward passes
    changed are put back (BatchNorm would keep the NaN in its running statistics), it neither steps nor
    touches the optimizer, and the batch takes no further step (`skipped` tells the module to leave its
    moving averages alone too). Steps taken before it in the batch stand. Costs nothing under "error";
    under "skip", a copy of those buffers (normalisation statistics: small) per step.
    """

    def __init__(self, module: L.LightningModule):
        self.module, self.policy = module, module.hparams.nonfinite_loss
        self.skipped = False
        self._buffers = _stateful_buffers(module) if self.policy == "skip" else []
        self._before = [buffer.clone() for buffer in self._buffers]

    def take(self, name: str, loss: torch.Tensor, batch_idx: int) -> bool:
        """Whether to step on `loss` (logged as `name`); see `take_step`. False after a skipped step."""
        if self.skipped:
            self.skip()
            return False
        if take_step(self.module, name, loss, self.policy, batch_idx):
            if self._buffers:  # what a later step of the batch that is skipped goes back to
                torch._foreach_copy_(self._before, self._buffers)
            return True
        if self._buffers:
            torch._foreach_copy_(self._buffers, self._before)
        self.skipped = True
        return False

    def skip(self) -> None:
        """Count a step of a batch that has skipped one already, without computing its loss."""
        count_skipped(self.module)
