"""An exponential moving average of a network's weights (and BatchNorm statistics), never trained itself."""

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from flik_lab.utils.arguments import Range

EMA_DECAY = Range(0, "a number in (0, 1), e.g. 0.999, or null for no average", exclusive=True, below=1)


class WarmedUpEMA:
    """AveragedModel's `multi_avg_fn` for an EMA whose decay ramps up as min(decay, (1 + n) / (10 + n)).

    The ramp (TensorFlow's `num_updates`) keeps the first updates from tying the average to the random
    initial weights for thousands of steps (0.999 ** 2800 = 6 % of them would remain after a short run).
    A class, not a closure: `trainer=ddp_spawn` pickles the module and this with it.
    """

    def __init__(self, decay: float):
        self.decay = decay

    def __call__(self, averages: list[torch.Tensor], currents: list[torch.Tensor], n_averaged: torch.Tensor):
        n = float(n_averaged.item())
        weight = 1.0 - min(self.decay, (1.0 + n) / (10.0 + n))
        if torch.is_floating_point(averages[0]):
            torch._foreach_lerp_(averages, currents, weight)
        else:  # BatchNorm's batch counters: the current count
            torch._foreach_copy_(averages, currents)


def ema_copy(network: nn.Module, decay: float) -> AveragedModel:
    """A frozen copy of `network` that `update_parameters(network)` moves towards it."""
    EMA_DECAY.check("ema_decay", decay)
    average = AveragedModel(network, multi_avg_fn=WarmedUpEMA(decay), use_buffers=True)
    # never trained: DDP must not wait for its gradients, the optimizers never see it
    return average.requires_grad_(False)
