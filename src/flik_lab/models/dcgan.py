"""DCGAN generator and discriminator (Radford et al. 2016) as plain `nn.Module`s."""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as with_spectral_norm

from flik_lab.utils.errors import InputError

# the discriminator's down-sampling kernels (the DCGAN paper's is 4)
DOWN_KERNELS = (3, 4, 5, 6, 7)
# image side -> (side after the first block, number of 2x up/down-sampling blocks)
_LAYOUTS = {28: (7, 2), 64: (4, 4)}


def _layout(image_size: int) -> tuple[int, int]:
    if image_size not in _LAYOUTS:
        raise InputError(f"image_size={image_size} is not supported; expected one of {list(_LAYOUTS)}")
    return _LAYOUTS[image_size]


def dcgan_init(module: nn.Module) -> None:
    """DCGAN init: conv weights ~ N(0, 0.02), BatchNorm weights ~ N(1, 0.02), biases 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class Generator(nn.Module):
    """Latent `(N, latent_dim)` -> image `(N, channels, image_size, image_size)` in [-1, 1]."""

    def __init__(self, latent_dim: int = 100, channels: int = 1, image_size: int = 28, width: int = 64):
        super().__init__()
        start, n_up = _layout(image_size)
        self.latent_dim = latent_dim
        ch = width * 2 ** (n_up - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, ch, start, 1, 0, bias=False),
            nn.BatchNorm2d(ch),
            nn.ReLU(True),
        ]
        for _ in range(n_up - 1):
            layers += [
                nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ch // 2),
                nn.ReLU(True),
            ]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        # the first transposed conv reads a 1x1 input: it is a matrix product, and on a CPU one is 3x as fast
        first = self.net[0].weight  # (latent_dim, channels, side, side)
        x = z.view(z.shape[0], self.latent_dim) @ first.reshape(self.latent_dim, -1)
        return self.net[1:](x.view(z.shape[0], *first.shape[1:]))


def _down_kernels(kernel_size: int | Sequence[int], n_down: int) -> list[int]:
    """One kernel side per stride-2 convolution, from one for all or one per layer."""
    try:
        kernels = [kernel_size] * n_down if isinstance(kernel_size, int) else list(kernel_size)
    except TypeError:  # neither a number of the right kind nor a list: refused below
        kernels = []
    if len(kernels) != n_down or any(k not in DOWN_KERNELS for k in kernels):
        raise InputError(
            f"kernel_size={kernel_size} is not supported; expected one of {DOWN_KERNELS} "
            f"or a list of {n_down} of them (one per stride-2 convolution)"
        )
    return kernels


class Discriminator(nn.Module):
    """Image `(N, channels, image_size, image_size)` -> real/fake logit `(N,)`.

    `spectral_norm`: every conv's weight divided by its largest singular value (Miyato et al. 2018), in
    place of BatchNorm, so D is 1-Lipschitz per layer and its logits cannot run away from G's.
    """

    def __init__(
        self,
        channels: int = 1,
        image_size: int = 28,
        width: int = 64,
        spectral_norm: bool = False,
        kernel_size: int | Sequence[int] = 4,
    ):
        super().__init__()
        end, n_down = _layout(image_size)
        kernels = _down_kernels(kernel_size, n_down)
        conv = (
            (lambda *args, **kw: with_spectral_norm(nn.Conv2d(*args, **kw))) if spectral_norm else nn.Conv2d
        )

        def down(c_in: int, c_out: int, k: int, **kwargs) -> nn.Module:
            # padding (k - 1) // 2: each kernel of 3 to 7 halves the side exactly
            return conv(c_in, c_out, k, 2, (k - 1) // 2, **kwargs)

        layers: list[nn.Module] = [down(channels, width, kernels[0]), nn.LeakyReLU(0.2, True)]
        ch = width
        for k in kernels[1:]:
            norm = [] if spectral_norm else [nn.BatchNorm2d(ch * 2)]
            layers += [down(ch, ch * 2, k, bias=spectral_norm), *norm, nn.LeakyReLU(0.2, True)]
            ch *= 2
        # logits, not probabilities: BCE-with-logits is what autocast (bf16/16-mixed) allows
        layers.append(conv(ch, 1, end, 1, 0))
        self.net = nn.Sequential(*layers)
        if not spectral_norm:  # N(0, 0.02) weights would be rescaled by the normalisation anyway
            self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # the last conv's kernel covers its whole input: it is a dot product per image (faster on a CPU)
        last = self.net[-1]
        features = self.net[:-1](x).flatten(1)
        return F.linear(features, last.weight.reshape(1, -1), last.bias).flatten()
