"""A small CNN that tells domain A from domain B: "did the translation reach the target style?"."""

import logging
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from flik_lab.models.small_cnn import small_cnn
from flik_lab.utils.cached_fit import cached_fit, fingerprint
from flik_lab.utils.progress_log import logged_epochs

log = logging.getLogger(__name__)


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
    what = f"fitting the domain classifier on {len(images_a)} + {len(images_b)} real images"
    for _ in logged_epochs(epochs, what, log):
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


def cached_domain_classifier(
    images_a: torch.Tensor, images_b: torch.Tensor, cache_dir: Path, epochs: int = 5, seed: int = 0
) -> DomainClassifier:
    """`fit_domain_classifier` once per training data and settings; weights cached in `cache_dir`."""
    key = fingerprint(images_a, images_b, settings=f"{epochs}-{seed}")

    def fit() -> DomainClassifier:
        model = fit_domain_classifier(images_a, images_b, epochs=epochs, seed=seed)
        log.info(
            "domain classifier: %.3f of the real training images in their own domain",
            domain_accuracy(model, images_a, images_b),
        )
        return model

    return cached_fit(
        Path(cache_dir) / f"domain_classifier-{key}.pt", DomainClassifier(images_a.shape[1]), fit
    )
