"""CycleGAN: its networks' shapes, the history pool, the linear-decay schedule, and short real trainings on
tiny generated domains (blobs <-> inverted blobs) that must learn."""

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from flik_lab.models.cyclegan import CycleGAN
from flik_lab.models.cyclegan_networks import PatchDiscriminator, ResnetGenerator
from flik_lab.models.image_pool import ImagePool
from flik_lab.models.optimization import linear_decay
from flik_lab.utils.arguments import ArgumentError


@pytest.mark.parametrize(("channels", "size"), [(1, 28), (3, 64)])
def test_generator_keeps_the_shape_in_minus_one_to_one(channels, size):
    generator = ResnetGenerator(channels, width=8, num_blocks=2)
    x = torch.rand(2, channels, size, size) * 2 - 1
    y = generator(x)
    assert y.shape == x.shape
    assert y.min() >= -1 and y.max() <= 1
    with pytest.raises(ValueError, match="multiples of 4"):
        generator(torch.zeros(1, channels, 30, 30))


@pytest.mark.parametrize(
    ("channels", "size", "num_layers", "side"),
    [(1, 28, 3, 1), (1, 28, 2, 5), (1, 28, 1, 12), (3, 64, 3, 6), (3, 256, 3, 30)],
)
def test_patch_discriminator_gives_a_map_of_patches(channels, size, num_layers, side):
    discriminator = PatchDiscriminator(channels, width=4, num_layers=num_layers)
    assert discriminator(torch.zeros(2, channels, size, size)).shape == (2, 1, side, side)


def test_image_pool_passes_through_fills_then_mixes_repeatably():
    batch = torch.randn(4, 1, 3, 3)
    assert ImagePool(0).query(batch) is not None and torch.equal(ImagePool(0).query(batch), batch)

    def run(seed: int) -> list[list[float]]:
        torch.manual_seed(seed)
        pool = ImagePool(2)
        return [pool.query(torch.full((3, 1, 2, 2), float(i)))[:, 0, 0, 0].tolist() for i in range(6)]

    first = run(0)
    assert first[0] == [0.0, 0.0, 0.0]  # the pool fills with the first two, the third is drawn from them
    assert any(any(v < i for v in row) for i, row in enumerate(first[1:], 1))  # older images come back
    assert any(any(v == i for v in row) for i, row in enumerate(first[1:], 1))  # new ones pass too
    assert run(0) == first  # seeded through torch's RNG
    assert run(1) != first
    with pytest.raises(ArgumentError, match="pool_size=-1"):
        ImagePool(-1)


def test_linear_decay_is_constant_then_falls_to_zero():
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    scheduler = linear_decay(optimizer, total_steps=10, constant_fraction=0.4)
    lrs = []
    for _ in range(10):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    lrs.append(optimizer.param_groups[0]["lr"])
    assert lrs == pytest.approx([1.0] * 5 + [5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6, 0.0])
    with pytest.raises(ArgumentError, match="constant_fraction=1"):
        linear_decay(optimizer, total_steps=10, constant_fraction=1)


class Blobs(Dataset):
    """Domain A: bright Gaussian blobs on -1; B: the same kind of blobs inverted (B = -A), drawn apart."""

    def __init__(self, n: int, size: int, seed: int, eval_rows: bool = False):
        g = torch.Generator().manual_seed(seed)
        grid = torch.arange(size).float()
        centres = torch.rand(2, n, 2, generator=g) * (size - 6) + 3
        widths = torch.rand(2, n, 1, 1, generator=g) * 2 + 1.5
        dy = (grid.view(1, 1, -1, 1) - centres[..., 0, None, None]) ** 2
        dx = (grid.view(1, 1, 1, -1) - centres[..., 1, None, None]) ** 2
        blobs = torch.exp(-(dy + dx) / (2 * widths**2)) * 2 - 1  # (2, n, size, size) in [-1, 1]
        self.a, self.b = blobs[0, :, None], -blobs[1, :, None]
        self.eval_rows = eval_rows

    def __len__(self) -> int:
        return len(self.a)

    def __getitem__(self, i: int) -> dict:
        row = {"a": self.a[i], "b": self.b[i], "label_a": torch.tensor(-1), "label_b": torch.tensor(-1)}
        if self.eval_rows:
            row |= {"valid_a": torch.tensor(True), "valid_b": torch.tensor(i % 2 == 0)}
        return row


class BlobDomains(L.LightningDataModule):
    def __init__(self, size: int = 16, batch_size: int = 8):
        super().__init__()
        self.size, self.batch_size = size, batch_size
        self.channels, self.image_size, self.has_labels = 1, size, False
        self.domain_names = ("bright blobs", "dark blobs")

    def train_dataloader(self):
        return DataLoader(Blobs(64, self.size, seed=0), self.batch_size, shuffle=True)

    def val_dataloader(self):
        return DataLoader(Blobs(16, self.size, seed=1, eval_rows=True), self.batch_size)

    def test_dataloader(self):
        return self.val_dataloader()


def tiny_cyclegan(**kwargs) -> CycleGAN:
    def g():
        return ResnetGenerator(1, width=8, num_blocks=2, num_downsampling=1)

    def d():
        return PatchDiscriminator(1, width=8, num_layers=1)

    kwargs = {"lr": 2e-3, "pool_size": 8} | kwargs
    return CycleGAN(g(), g(), d(), d(), **kwargs)


class Record(L.Callback):
    def __init__(self):
        self.rows = []

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        self.rows.append({k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("train/")})


def fit(model: CycleGAN, steps: int, tmp_path, **trainer_kwargs) -> tuple[L.Trainer, Record]:
    record = Record()
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=2 * steps,  # two optimizer steps per batch
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=1,
        num_sanity_val_steps=0,
        callbacks=[record],
        default_root_dir=tmp_path,
        **trainer_kwargs,
    )
    trainer.fit(model, datamodule=BlobDomains())
    return trainer, record


def distance_to_inverse(model: CycleGAN) -> float:
    a = Blobs(16, 16, seed=2).a
    with torch.no_grad():
        return float((model.eval()(a, "a2b") - (-a)).abs().mean())
