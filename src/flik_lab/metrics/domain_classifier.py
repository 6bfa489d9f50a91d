"""A small CNN that tells domain A from domain B: "did the translation reach the target style?"."""

import hashlib
import logging
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

log = logging.getLogger(__name__)


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


class DomainClassifier(nn.Module):
    """Images in [-1, 1] `(N, C, H, W)` -> one logit each; positive means domain B."""

    def __init__(self, channels: int, width: int = 32):
        super().__init__()
        self.net = small_cnn(channels, 1, width)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images).squeeze(-1)

    @torch.no_grad()
    def says_b(self, images: torch.Tensor) -> torch.Tensor:
        """Bool `(N,)`: the classifier puts each image in domain B."""
        return self(images) > 0


def fit_domain_classifier(
    images_a: torch.Tensor, images_b: torch.Tensor, epochs: int = 5, batch_size: int = 128, seed: int = 0
) -> DomainClassifier:
    """Train on real A (label 0) against real B (label 1), balanced by drawing equally from both."""
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DomainClassifier(images_a.shape[1])
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    per_domain = max(len(images_a), len(images_b))
    half = batch_size // 2
    model.train()
    for _ in range(epochs):
        order_a = torch.randint(len(images_a), (per_domain,), generator=generator)
        order_b = torch.randint(len(images_b), (per_domain,), generator=generator)
        for start in range(0, per_domain, half):
            a, b = images_a[order_a[start : start + half]], images_b[order_b[start : start + half]]
            logits = model(torch.cat([a, b]))
            labels = torch.cat([torch.zeros(len(a)), torch.ones(len(b))])
            loss = F.binary_cross_entropy_with_logits(logits, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return model.eval().requires_grad_(False)


def domain_accuracy(model: DomainClassifier, images_a: torch.Tensor, images_b: torch.Tensor) -> float:
    """Share of real images the classifier puts in their own domain."""
    right = (~model.says_b(images_a)).sum() + model.says_b(images_b).sum()
    return float(right) / (len(images_a) + len(images_b))


def fingerprint(*tensors: torch.Tensor, settings: str) -> str:
    """A short hash of the tensors' shapes, a strided sample of their values, and `settings`."""
    digest = hashlib.sha256()
    for values in tensors:
        digest.update(str(tuple(values.shape)).encode())
        digest.update(values[:: max(1, len(values) // 64)].float().cpu().numpy().tobytes())
    digest.update(settings.encode())
    return digest.hexdigest()[:16]


def cached_fit(path: Path, model: nn.Module, fit) -> nn.Module:
    """`model` with the weights cached at `path`, else those of `fit()` (a fitted model), then cached there;
    frozen, in eval mode."""
    if path.is_file():
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return model.eval().requires_grad_(False)
    model = fit()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # DDP ranks may fit side by side
    torch.save(model.state_dict(), tmp)
    tmp.replace(path)
    return model.eval().requires_grad_(False)


def cached_domain_classifier(
    images_a: torch.Tensor, images_b: torch.Tensor, cache_dir: Path, epochs: int = 5, seed: int = 0
) -> DomainClassifier:
    """`fit_domain_classifier` once per training data and settings; weights cached in `cache_dir`."""
    key = fingerprint(images_a, images_b, settings=f"{epochs}-{seed}")

    def fit() -> DomainClassifier:
        model = fit_domain_classifier(images_a, images_b, epochs=epochs, seed=seed)
        log.info("domain classifier: %.3f of the real training images in their own domain",
                 domain_accuracy(model, images_a, images_b))  # fmt: skip
        return model

    return cached_fit(
        Path(cache_dir) / f"domain_classifier-{key}.pt", DomainClassifier(images_a.shape[1]), fit
    )
