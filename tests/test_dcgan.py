"""DCGAN networks: shapes for MNIST and CelebA, output range, the paper's initialisation."""

import pytest
import torch

from flik_lab.models.dcgan import Discriminator, Generator


@pytest.mark.parametrize(("channels", "size"), [(1, 28), (3, 64)])
def test_shapes_and_range(channels, size):
    g = Generator(latent_dim=16, channels=channels, image_size=size, width=8)
    d = Discriminator(channels=channels, image_size=size, width=8)
    images = g(torch.randn(5, 16))
    assert images.shape == (5, channels, size, size)
    assert images.min() >= -1 and images.max() <= 1
    assert d(images).shape == (5,)


def test_dcgan_init():
    g = Generator(width=64)
    convs = [m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    weights = torch.cat([m.weight.flatten() for m in convs])
    assert abs(weights.mean().item()) < 1e-3 and abs(weights.std().item() - 0.02) < 1e-3
    bns = [m for m in g.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert abs(torch.cat([m.weight for m in bns]).mean().item() - 1.0) < 0.01


def test_unsupported_size_is_named():
    with pytest.raises(ValueError, match="image_size=32"):
        Generator(image_size=32)


@pytest.mark.parametrize(("channels", "size"), [(1, 28), (3, 64)])
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("spectral_norm", [False, True])
def test_end_layers_as_matrix_products_equal_the_convolutions(channels, size, channels_last, spectral_norm):
    torch.manual_seed(0)
    g = Generator(latent_dim=16, channels=channels, image_size=size, width=8).eval()
    d = Discriminator(channels=channels, image_size=size, width=8, spectral_norm=spectral_norm).eval()
    if channels_last:
        g, d = (net.to(memory_format=torch.channels_last) for net in (g, d))
    z = torch.randn(5, 16)
    images = g(z)
    torch.testing.assert_close(images, g.net(z.view(5, 16, 1, 1)))  # the convolutions as declared
    torch.testing.assert_close(d(images), d.net(images).flatten())


@pytest.mark.parametrize(("channels", "size"), [(1, 28), (3, 64)])
@pytest.mark.parametrize("kernel_size", [3, 4, 5, 6, 7])
def test_discriminator_kernel_sizes_halve_the_side(channels, size, kernel_size):
    d = Discriminator(channels=channels, image_size=size, width=8, kernel_size=kernel_size)
    downs = [m for m in d.net if isinstance(m, torch.nn.Conv2d) and m.stride == (2, 2)]
    assert downs and all(m.kernel_size == (kernel_size, kernel_size) for m in downs)
    x = torch.randn(2, channels, size, size)
    side = size
    for layer in d.net[:-1]:
        x = layer(x)
        if isinstance(layer, torch.nn.Conv2d):
            side //= 2
            assert x.shape[-1] == side
    assert d(torch.randn(2, channels, size, size)).shape == (2,)


def test_unsupported_kernel_size_is_named():
    with pytest.raises(ValueError, match="kernel_size=8"):
        Discriminator(kernel_size=8)


def test_one_kernel_per_layer():
    d = Discriminator(channels=1, image_size=28, width=8, kernel_size=[7, 4])
    downs = [m.kernel_size for m in d.net if isinstance(m, torch.nn.Conv2d) and m.stride == (2, 2)]
    assert downs == [(7, 7), (4, 4)]
    assert d(torch.randn(2, 1, 28, 28)).shape == (2,)
    with pytest.raises(ValueError, match=r"a list of 2 of them"):
        Discriminator(image_size=28, kernel_size=[7, 4, 4])
    with pytest.raises(ValueError, match=r"kernel_size=7\.0"):  # a float is neither a size nor a list
        Discriminator(image_size=28, kernel_size=7.0)
