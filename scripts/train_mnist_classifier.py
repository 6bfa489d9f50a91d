"""Train the MNIST classifier whose features define flik-lab's MNIST FID; writes its weights.

Deterministic (seeded, deterministic kernels, one thread) and offline: trains on the training split
of the shipped `mnist5k` digits (split seed 0, 4,000 images) and reports accuracy on its 500-digit
test split, which the training never sees.
    python scripts/train_mnist_classifier.py  # -> src/flik_lab/assets/mnist_classifier.pt
Result recorded on 2026-11-27 (torch 2.14.1, CPU): test accuracy 97.8 % (489 / 500).
"""

from pathlib import Path

import torch
import torch.nn.functional as F

from flik_lab.data.mnist5k import MNIST5kDataModule
from flik_lab.models.mnist_classifier import WEIGHTS, MNISTClassifier

OUT = Path(__file__).resolve().parents[1] / "src" / "flik_lab" / "assets" / WEIGHTS
EPOCHS, BATCH, LR, MAX_SHIFT = 30, 64, 1e-3, 2


def random_shift(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Translate the whole batch by up to MAX_SHIFT pixels (cheap augmentation, zero-padded in -1)."""
    dx, dy = torch.randint(-MAX_SHIFT, MAX_SHIFT + 1, (2,), generator=generator).tolist()
    padded = F.pad(images, [MAX_SHIFT] * 4, value=-1.0)
    h, w = images.shape[-2:]
    return padded[..., MAX_SHIFT + dy : MAX_SHIFT + dy + h, MAX_SHIFT + dx : MAX_SHIFT + dx + w]


@torch.no_grad()
def accuracy(model: MNISTClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    return (model(images).argmax(1) == labels).float().mean().item()


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    data = MNIST5kDataModule(batch_size=BATCH, seed=0)
    data.setup()
    train_x, train_y = data.train_set.tensors
    test_x, test_y = data.test_set.tensors
    model = MNISTClassifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    generator = torch.Generator().manual_seed(0)
    for epoch in range(EPOCHS):
        model.train()
        order = torch.randperm(len(train_x), generator=generator)
        for idx in order.split(BATCH):
            loss = F.cross_entropy(model(random_shift(train_x[idx], generator)), train_y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(f"epoch {epoch + 1:2d}  test accuracy {accuracy(model, test_x, test_y):.4f}")
    acc = accuracy(model, test_x, test_y)
    torch.save(model.state_dict(), OUT)
    print(f"wrote {OUT}; test accuracy {acc:.2%} ({round(acc * len(test_y))} / {len(test_y)})")


if __name__ == "__main__":
    main()
