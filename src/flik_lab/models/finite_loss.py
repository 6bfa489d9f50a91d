"""What a training step does with a NaN or infinite loss: stop the run naming it, or skip the step."""

import lightning as L
import torch

NONFINITE_POLICIES = ("error", "skip")


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
    module.skipped_steps += 1
    module.log("train/skipped_steps", float(module.skipped_steps), reduce_fx="max")
    return False
