"""CyCADA's semantic consistency (Hoffman et al. 2018): frozen digit readers fitted on domain A's labelled
training images tell G to keep the class of what it translates. Domain B's labels are never read.

A reader is a network of its own (not the shipped MNIST classifier that scores "content kept"), trained
with jitter in angle, scale, position and stroke so that it can read translated digits.
"""

import dataclasses
import logging
from collections.abc import Iterable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from flik_lab.models.small_cnn import lenet_cnn, small_cnn
from flik_lab.utils.arguments import ArgumentError
from flik_lab.utils.cached_fit import cached_fit, fingerprint
from flik_lab.utils.progress_log import logged_epochs

log = logging.getLogger(__name__)

# the seed of the readers that score translations (StyleTransferScores): no training reader may use it, or the
# generators would be scored by the very network they were trained to satisfy
SCORING_READER_SEED = 1
# the readers' shapes; a LeNet reader's weights start from seed + 1000, since the shipped classifier (the same
# shape, which scores "content kept") started from seed 0 and no reader may start where the scorer did
READER_NETWORKS = {"small_cnn": small_cnn, "lenet": lenet_cnn}
INIT_SEED_OFFSET = {"small_cnn": 0, "lenet": 1000}


def checked_reader_seeds(seeds) -> list[int]:
    """The training readers' seeds: distinct ints >= 0, not SCORING_READER_SEED, as a list; else an error."""
    expected = f"a non-empty list of distinct seeds >= 0 without {SCORING_READER_SEED} (the scoring readers')"
    if isinstance(seeds, str | int) or not hasattr(seeds, "__iter__"):
        raise ArgumentError("reader_seeds", seeds, expected)
    seeds = list(seeds)
    good = all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)
    if not seeds or not good or len(set(seeds)) < len(seeds) or SCORING_READER_SEED in seeds:
        raise ArgumentError("reader_seeds", seeds, expected)
    return seeds


def checked_reader_networks(networks) -> list[str]:
    """The training readers' shapes: distinct names of READER_NETWORKS, as a list; else an error."""
    expected = f"a non-empty list of distinct names from {sorted(READER_NETWORKS)}"
    if isinstance(networks, str) or not hasattr(networks, "__iter__"):
        raise ArgumentError("reader_networks", networks, expected)
    networks = list(networks)
    known = all(isinstance(name, str) and name in READER_NETWORKS for name in networks)
    if not networks or not known or len(set(networks)) < len(networks):
        raise ArgumentError("reader_networks", networks, expected)
    return networks


@dataclasses.dataclass(frozen=True)
class ReaderSettings:
    """A's readers: one per network and seed, fitted for `epochs`; under `jitter` they read jittered copies,
    so that no pixel-exact pattern can please them (an adversarial example for one reader only)."""

    epochs: int
    seeds: list[int]
    networks: list[str]
    jitter: bool

    @classmethod
    def checked(cls, epochs: int, seeds, networks, jitter) -> "ReaderSettings":
        """The settings, or an ArgumentError naming the first argument out of range."""
        if not isinstance(jitter, bool):
            raise ArgumentError("reader_jitter", jitter, "true or false")
        return cls(epochs, checked_reader_seeds(seeds), checked_reader_networks(networks), jitter)

    def readers(self) -> list[tuple[str, int]]:
        """Every (network, seed): every network with every seed."""
        return [(network, seed) for network in self.networks for seed in self.seeds]


class DigitReader(nn.Module):
    """Images in [-1, 1] `(N, C, H, W)` -> `(N, num_classes)` logits, by a network of READER_NETWORKS."""

    def __init__(self, channels: int, num_classes: int = 10, width: int = 32, network: str = "small_cnn"):
        super().__init__()
        self.net = READER_NETWORKS[network](channels, num_classes, width)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)


def labelled_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the rows with a label (>= 0); 0, not NaN, when none has one. Masked rather than
    filtered, so that the step never waits on the device to count the rows."""
    labelled = labels >= 0
    per_row = F.cross_entropy(logits, labels.clamp(min=0), reduction="none") * labelled
    return per_row.sum() / labelled.sum().clamp(min=1)


class DigitReaders(nn.ModuleList):
    """Several readers that read as one: their mean loss, their mean softmax. The mean matters: one reader
    can be sure and wrong about a whole class (bench/RESULTS.md)."""

    def __init__(self, readers: Iterable[DigitReader], jitter: bool = False):
        super().__init__(readers)
        self.jitter = jitter

    def cross_entropy(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The readers' mean `labelled_cross_entropy` on `images` (jittered copies under `jitter`)."""
        if self.jitter:
            images = jitter(images)
        return sum(labelled_cross_entropy(reader(images), labels) for reader in self) / len(self)

    @torch.no_grad()
    def pseudo_labels(self, images: torch.Tensor, confidence: float) -> torch.Tensor:
        """The class of each image by the readers' mean softmax; -1 where that mean is less sure than
        `confidence`."""
        sure, labels = (sum(reader(images).softmax(1) for reader in self) / len(self)).max(1)
        labels[sure < confidence] = -1
        return labels


def jitter(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each image rotated (±15°), scaled (0.85-1.15), shifted (±5 %), and its strokes thinned, kept or
    thickened (a 3x3 min / identity / max filter), at random; differentiable in `images`."""
    n, device = len(images), images.device
    angle = (torch.rand(n, generator=generator, device=device) - 0.5) * 0.52
    scale = 0.85 + 0.3 * torch.rand(n, generator=generator, device=device)
    shift = (torch.rand(n, 2, generator=generator, device=device) - 0.5) * 0.2
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    moved = F.grid_sample(images, grid, align_corners=False, padding_mode="border")
    stroke = torch.randint(3, (n, 1, 1, 1), generator=generator, device=device)
    thin, thick = -F.max_pool2d(-moved, 3, 1, 1), F.max_pool2d(moved, 3, 1, 1)
    return torch.where(stroke == 0, thin, torch.where(stroke == 2, thick, moved))


def fit_reader(
    images: torch.Tensor,
    labels: torch.Tensor,
    epochs: int = 5,
    batch_size: int = 64,
    seed: int = 0,
    network: str = "small_cnn",
) -> DigitReader:
    """Cross-entropy on jittered `images` with their `labels` (0 .. 9), Adam 2e-3; frozen, in eval mode."""
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + INIT_SEED_OFFSET[network])
        model = DigitReader(images.shape[1], network=network)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    model.train()
    what = f"fitting a digit reader ({network}, seed {seed}) on {len(images)} images"
    for _ in logged_epochs(epochs, what, log):
        order = torch.randperm(len(images), generator=generator)
        for start in range(0, len(images), batch_size):
            rows = order[start : start + batch_size]
            loss = F.cross_entropy(model(jitter(images[rows], generator)), labels[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return model.eval().requires_grad_(False)


def cached_reader(
    images: torch.Tensor,
    labels: torch.Tensor,
    cache_dir: Path,
    epochs: int = 5,
    seed: int = 0,
    network: str = "small_cnn",
) -> DigitReader:
    """`fit_reader` once per training data and settings; weights cached in `cache_dir`."""
    # a small CNN keeps the key it had before readers had other shapes, so existing caches stay valid
    settings = f"{epochs}-{seed}" if network == "small_cnn" else f"{epochs}-{seed}-{network}"
    key = fingerprint(images, labels, settings=settings)

    def fit() -> DigitReader:
        model = fit_reader(images, labels, epochs=epochs, seed=seed, network=network)
        with torch.no_grad():
            accuracy = (model(images).argmax(1) == labels).float().mean()
        log.info(
            "digit reader (%s, seed %d): %.3f of its training images read right", network, seed, accuracy
        )
        return model

    empty = DigitReader(images.shape[1], network=network)
    # the file name keeps the readers' first name, so that existing caches stay valid
    return cached_fit(Path(cache_dir) / f"label_classifier-{key}.pt", empty, fit)
