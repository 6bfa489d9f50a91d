"""CycleGAN's networks (Zhu et al. 2017) as plain `nn.Module`s: the ResNet-block generator of Johnson et al.
2016 and the PatchGAN discriminator of Isola et al. 2017, both with instance normalisation."""

from typing import Annotated

import torch
from torch import nn

from flik_lab.utils.arguments import Positive, Range, check_declared
from flik_lab.utils.errors import InputError


def _norm(channels: int) -> nn.Module:
    # instance norm without learned scale or running statistics, as the CycleGAN code's default
    return nn.InstanceNorm2d(channels)


class ResidualBlock(nn.Module):
    """x + (reflect pad, 3x3 conv, IN, ReLU, reflect pad, 3x3 conv, IN)(x): same shape in and out."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            _norm(channels),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            _norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """Image `(N, channels, H, W)` in [-1, 1] -> image of the same shape in [-1, 1].

    7x7 conv, `num_downsampling` stride-2 convs (doubling the width), `num_blocks` residual blocks, as many
    transposed convs back up, 7x7 conv, tanh. H and W must be multiples of 2 ** num_downsampling
    (28 -> 14 -> 7 -> 14 -> 28 with the default 2).
    """

    def __init__(
        self,
        channels: Positive[int],
        width: Positive[int] = 64,
        num_blocks: Annotated[int, Range(0, "0 or more residual blocks", integer=True)] = 9,
        num_downsampling: Annotated[int, Range(0, "0 or more stride-2 convolutions", integer=True)] = 2,
    ):
        check_declared(ResnetGenerator.__init__, locals())
        super().__init__()
        self.channels, self.num_downsampling = channels, num_downsampling
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(channels, width, 7),
            _norm(width),
            nn.ReLU(True),
        ]
        ch = width
        for _ in range(num_downsampling):
            layers += [nn.Conv2d(ch, ch * 2, 3, stride=2, padding=1), _norm(ch * 2), nn.ReLU(True)]
            ch *= 2
        layers += [ResidualBlock(ch) for _ in range(num_blocks)]
        for _ in range(num_downsampling):
            up = nn.ConvTranspose2d(ch, ch // 2, 3, stride=2, padding=1, output_padding=1)
            layers += [up, _norm(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        step = 2**self.num_downsampling
        if x.shape[-2] % step or x.shape[-1] % step:
            raise InputError(
                f"images of {x.shape[-2]}x{x.shape[-1]} px: ResnetGenerator with num_downsampling="
                f"{self.num_downsampling} needs sides that are multiples of {step}"
            )
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """Image `(N, channels, H, W)` -> a map of real/fake logits `(N, 1, h, w)`, one per overlapping patch.

    `num_layers` stride-2 4x4 convs (the first without norm), a stride-1 4x4 conv, a 4x4 conv to one logit
    per patch: num_layers=3 is the 70x70 PatchGAN (30x30 logits for 256 px, 6x6 for 64 px, 1x1 for 28 px);
    num_layers=2 sees 34x34 patches (5x5 logits for 28 px), num_layers=1 16x16 patches (12x12 for 28 px).
    """

    def __init__(self, channels: Positive[int], width: Positive[int] = 64, num_layers: Positive[int] = 3):
        check_declared(PatchDiscriminator.__init__, locals())
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(channels, width, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, True),
        ]
        ch = width
        for n in range(1, num_layers + 1):
            out = width * min(2**n, 8)
            stride = 2 if n < num_layers else 1  # the last of these keeps the size (minus one)
            layers += [nn.Conv2d(ch, out, 4, stride=stride, padding=1), _norm(out), nn.LeakyReLU(0.2, True)]
            ch = out
        # logits, not probabilities: the least-squares loss compares them with 1 and 0 directly
        layers.append(nn.Conv2d(ch, 1, 4, stride=1, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
