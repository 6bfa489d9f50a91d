"""The small CNNs behind the domain classifier and CycleGAN's digit readers."""

from torch import nn


def small_cnn(channels: int, outputs: int, width: int = 32) -> nn.Sequential:
    """Three 3x3 convolutions (two of stride 2) and a linear layer: `(N, C, H, W)` -> `(N, outputs)`."""
    return nn.Sequential(
        nn.Conv2d(channels, width, 3, padding=1),
        nn.LeakyReLU(0.2),
        nn.Conv2d(width, width, 3, stride=2, padding=1),
        nn.LeakyReLU(0.2),
        nn.Conv2d(width, 2 * width, 3, stride=2, padding=1),
        nn.LeakyReLU(0.2),
        nn.AdaptiveAvgPool2d(4),  # where in the image a stroke lies matters: keep a 4x4 layout
        nn.Flatten(),
        nn.Linear(32 * width, outputs),
    )


def lenet_cnn(channels: int, outputs: int, width: int = 32) -> nn.Sequential:
    """LeNet's shape, as the shipped MNIST classifier's: two 5x5 convolutions each max-pooled, a hidden
    layer of 128: `(N, C, H, W)` -> `(N, outputs)`. Readers of two shapes disagree where one is fooled."""
    return nn.Sequential(
        nn.Conv2d(channels, width, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(7),  # 28 px digits: the identity
        nn.Flatten(),
        nn.Linear(2 * width * 49, 128),
        nn.ReLU(),
        nn.Linear(128, outputs),
    )
