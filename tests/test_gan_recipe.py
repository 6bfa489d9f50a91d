"""The GAN's quality switches: the generator's moving average, hinge loss, spectral normalisation, R1;
each does what it says and bad values are refused naming their key."""

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from flik_lab.metrics.fid import mnist_fid
from flik_lab.models import gan as gan_module
from flik_lab.models.dcgan import Discriminator, Generator
from flik_lab.models.ema import ema_copy
from flik_lab.models.gan import GAN
from flik_lab.models.gan_losses import discriminator_loss, generator_loss, r1_penalty
from flik_lab.training import train
from flik_lab.utils.arguments import ArgumentError
from flik_lab.utils.checkpoint import read_checkpoint
from flik_lab.utils.config_schema import ConfigError

from .helpers.config import compose_config


def _tiny_gan(**kwargs) -> GAN:
    return GAN(Generator(8, 1, 28, 4), Discriminator(1, 28, 4), latent_dim=8, **kwargs)


def test_moving_average_follows_the_generator_with_a_warm_up():
    torch.manual_seed(0)
    network = torch.nn.Linear(3, 2)
    average = ema_copy(network, decay=0.9)
    start = network.weight.detach().clone()
    average.update_parameters(network)  # the first update copies
    torch.testing.assert_close(average.module.weight, start)
    expected = start
    for n in range(1, 40):
        with torch.no_grad():
            network.weight.add_(0.1)
        average.update_parameters(network)
        decay = min(0.9, (1 + n) / (10 + n))  # ramps up to 0.9, then stays
        expected = decay * expected + (1 - decay) * network.weight.detach()
        torch.testing.assert_close(average.module.weight, expected)
    assert not any(p.requires_grad for p in average.parameters())  # never trained, never waited for by DDP


def test_samples_come_from_the_average_and_checkpoints_keep_both(trained_gan):
    model = read_checkpoint(trained_gan / "checkpoints" / "last.ckpt").model()
    assert model.hparams.ema_decay is not None  # the default experiment samples from the average
    state = model.state_dict()
    assert any(k.startswith("generator_ema.module.") for k in state) and "generator_ema.n_averaged" in state
    assert state["generator_ema.n_averaged"] > 0
    z = model.noise(4, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(model(z), model.generator_ema(z))
        assert not torch.allclose(model(z), model.generator(z))  # the raw generator is another network


def test_without_ema_the_raw_generator_samples():
    model = _tiny_gan().eval()
    assert model.generator_ema is None and model.sampler is model.generator
    z = torch.randn(3, 8)
    torch.testing.assert_close(model(z), model.generator(z))


def test_hinge_and_nonsaturating_losses():
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([-2.0, 0.0])
    # hinge: relu(1 - D(x)) + relu(1 + D(G(z))), each averaged: (0 + 1) / 2 + (0 + 1) / 2
    assert discriminator_loss("hinge", real, fake).item() == pytest.approx(1.0)
    assert generator_loss("hinge", fake).item() == pytest.approx(1.0)  # -mean(D(G(z)))
    expected = F.binary_cross_entropy_with_logits(real, torch.ones(2))
    expected = expected + F.binary_cross_entropy_with_logits(fake, torch.zeros(2))
    assert discriminator_loss("nonsaturating", real, fake).item() == pytest.approx(expected.item())
    g_expected = F.binary_cross_entropy_with_logits(fake, torch.ones(2))  # G maximises log D(G(z))
    assert generator_loss("nonsaturating", fake).item() == pytest.approx(g_expected.item())


def test_spectral_norm_keeps_each_layer_at_unit_gain():
    torch.manual_seed(0)
    discriminator = Discriminator(1, 28, 8, spectral_norm=True)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in discriminator.modules())
    for _ in range(30):  # each training-mode forward runs one power iteration
        discriminator(torch.randn(4, 1, 28, 28))
    convs = [m for m in discriminator.modules() if isinstance(m, torch.nn.Conv2d)]
    for conv in convs:
        sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
        assert sigma.item() == pytest.approx(1.0, abs=0.05)


def test_r1_is_half_gamma_times_the_squared_gradient_on_real_images():
    torch.manual_seed(0)
    weight = torch.randn(4, requires_grad=True)
    images = torch.randn(3, 1, 2, 2).requires_grad_(True)
    logits = images.flatten(1) @ weight  # D(x) = w . x: every image's input gradient is w
    penalty = r1_penalty(logits, images, gamma=3.0)
    assert penalty.item() == pytest.approx(1.5 * weight.detach().pow(2).sum().item())
    penalty.backward()  # D is trained on it: d/dw (gamma/2 |w|^2) = gamma w
    torch.testing.assert_close(weight.grad, 3.0 * weight.detach())


def test_lazy_r1_is_added_every_nth_batch_with_n_times_the_weight(monkeypatch):
    seen = []

    def recording_penalty(logits, images, gamma):
        assert images.requires_grad and logits.shape == (images.shape[0],)
        seen.append(gamma)
        return r1_penalty(logits, images, gamma)

    monkeypatch.setattr(gan_module, "r1_penalty", recording_penalty)
    model = _tiny_gan(r1_gamma=0.5, r1_every=2, loss="hinge")
    digits = TensorDataset(torch.rand(20, 1, 28, 28) * 2 - 1)
    quiet = {"logger": False, "enable_checkpointing": False, "enable_progress_bar": False}
    trainer = L.Trainer(max_epochs=1, accelerator="cpu", limit_val_batches=0, **quiet)
    trainer.fit(model, DataLoader(digits, batch_size=4))
    assert seen == [1.0, 1.0, 1.0]  # batches 0, 2 and 4 of 5, each with 2 x 0.5


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"ema_decay": 1.0}, "ema_decay"),
        ({"ema_decay": True}, "ema_decay"),
        ({"loss": "wgan"}, "loss"),
        ({"r1_gamma": 0.0}, "r1_gamma"),
        ({"r1_every": 0}, "r1_every"),
        ({"r1_every": 1.5}, "r1_every"),
    ],
)
def test_bad_values_name_their_argument(kwargs, argument):
    with pytest.raises(ArgumentError) as error:
        _tiny_gan(**kwargs)
    assert error.value.argument == argument


@pytest.mark.parametrize("override", ["model.ema_decay=1.5", "model.loss=wgan", "model.r1_every=0"])
def test_bad_values_in_config_name_their_key_before_training(override, tmp_path):
    key = override.split("=")[0]
    with pytest.raises(ConfigError, match=f"invalid config value '{key}'"):
        train(compose_config("train", tmp_path / "run", ["debug=tiny", override]))
    assert not (tmp_path / "run" / "checkpoints").exists()


class _RecordValFID(L.Callback):
    """Records each epoch's val/fid; with `forget`, drops the module's cached real statistics first."""

    def __init__(self, forget: bool = False):
        self.forget, self.fids = forget, []

    def on_validation_epoch_start(self, trainer, pl_module):
        if self.forget:
            pl_module._forget_val_reals()

    def on_train_epoch_end(self, trainer, pl_module):  # after the module logged this epoch's val/fid
        self.fids.append(trainer.callback_metrics["val/fid"].item())


def _fit_with_fid(forget: bool, real_reads: list[int], reload: int = 0) -> tuple[GAN, L.Trainer, list[float]]:
    L.seed_everything(0)
    model = _tiny_gan(fid=mnist_fid(), loss="hinge")
    update = model.fid.update

    def counting_update(images, real):
        if real:
            real_reads.append(len(images))
        return update(images, real)

    model.fid.update = counting_update
    digits = torch.rand(24, 1, 28, 28) * 2 - 1
    record = _RecordValFID(forget)
    quiet = {"logger": False, "enable_checkpointing": False, "enable_progress_bar": False}
    trainer = L.Trainer(
        max_epochs=3, accelerator="cpu", callbacks=[record], reload_dataloaders_every_n_epochs=reload, **quiet
    )
    train_data = DataLoader(TensorDataset(digits[:16]), batch_size=8)
    trainer.fit(model, train_data, DataLoader(TensorDataset(digits[16:]), batch_size=4))
    return model, trainer, record.fids


def test_validation_reads_its_real_digits_once_per_fit_for_the_same_fids():
    cached_reads, fresh_reads = [], []
    model, trainer, cached = _fit_with_fid(forget=False, real_reads=cached_reads)
    _, _, fresh = _fit_with_fid(forget=True, real_reads=fresh_reads)
    assert len(cached) == 3 and cached == fresh  # the statistics put back are the ones read
    assert len(set(cached)) == 3  # the generator moved: each epoch's FID is its own
    assert sum(fresh_reads) == 4 * 8  # sanity check + 3 epochs, 8 real digits each
    assert sum(cached_reads) == 2 * 8  # the sanity check (maybe partial) and the first epoch only
    test_digits = torch.rand(6, 1, 28, 28) * 2 - 1
    trainer.test(model, DataLoader(TensorDataset(test_digits), batch_size=6), verbose=False)
    assert cached_reads[-1] == 6  # the test set is read, not the validation statistics reused


def test_validation_rereads_its_digits_when_the_loaders_are_reloaded():
    reads = []
    _fit_with_fid(forget=False, real_reads=reads, reload=1)  # the validation set may change every epoch
    assert sum(reads) == 4 * 8
