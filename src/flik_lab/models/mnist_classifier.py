"""LeNet-like MNIST classifier whose penultimate layer is the feature space of the MNIST FID."""

from importlib import resources

import torch
from torch import nn

WEIGHTS = "mnist_classifier.pt"


class MNISTClassifier(nn.Module):
    """Digits in [-1, 1], shape `(N, 1, 28, 28)` -> class logits `(N, 10)`."""

    num_features = 128

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 14x14
            nn.Conv2d(32, 64, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 7x7
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, self.num_features),
            nn.ReLU(),
        )
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(self.num_features, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))


class MNISTFeatures(nn.Module):
    """Frozen feature extractor `(N, 1, 28, 28)` -> `(N, 128)` float64, for torchmetrics' FID.

    The feature layers hold no dropout or BatchNorm, so train/eval mode does not change them.
    """

    num_features = MNISTClassifier.num_features

    def __init__(self, classifier: MNISTClassifier | None = None):
        super().__init__()
        self.classifier = classifier if classifier is not None else load_pretrained()
        self.classifier.eval().requires_grad_(False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        # features in full precision even inside a bf16/16-mixed autocast region
        with torch.autocast(images.device.type, enabled=False):
            weight = self.classifier.head.weight  # float32, or float64 after `fid.set_dtype(torch.float64)`
            return self.classifier.features(images.to(weight.dtype)).double()


def load_pretrained() -> MNISTClassifier:
    """The classifier with the weights shipped in `flik_lab/assets` (weights-only load)."""
    model = MNISTClassifier()
    with resources.as_file(resources.files("flik_lab.assets") / WEIGHTS) as path:
        if not path.exists():
            raise FileNotFoundError(
                f"{path} is missing; create it with `python scripts/train_mnist_classifier.py`"
            )
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()
