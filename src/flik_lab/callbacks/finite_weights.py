"""Refuse to write a checkpoint whose weights are NaN or infinite: a diverged run never overwrites a good
`last.ckpt` (or any other checkpoint) with broken weights."""

import lightning as L
import torch


class NonFiniteWeightsError(FloatingPointError):
    """The model's weights became NaN or infinite."""


class FiniteWeightsOnly(L.Callback):
    """Raises before any checkpoint file is written when a floating-point weight is not finite."""

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        bad = [
            name
            for name, value in checkpoint["state_dict"].items()
            if torch.is_tensor(value) and value.is_floating_point() and not torch.isfinite(value).all()
        ]
        if bad:
            shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
            raise NonFiniteWeightsError(
                f"not saving a checkpoint at epoch {trainer.current_epoch}, global step "
                f"{trainer.global_step}: non-finite weights in {shown}; the run diverged"
            )
