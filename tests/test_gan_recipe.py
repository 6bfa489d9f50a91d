"""The GAN's quality switches: the generator's moving average, hinge loss, label smoothing, instance noise,
spectral normalisation; each does what it says and bad values are refused naming their key."""

import pytest
import torch
import torch.nn.functional as F

from flik_lab.models.dcgan import Discriminator, Generator
from flik_lab.models.diff_augment import cutout, translate
from flik_lab.models.ema import ema_copy
from flik_lab.models.gan import GAN
from flik_lab.models.gan_losses import discriminator_loss, generator_loss, instance_noise_std
from flik_lab.training import train
from flik_lab.utils.arguments import ArgumentError
from flik_lab.utils.checkpoint import load_checkpoint, model_from_checkpoint
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
    model = model_from_checkpoint(load_checkpoint(trained_gan / "checkpoints" / "last.ckpt"))
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


def test_hinge_and_smoothed_losses():
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([-2.0, 0.0])
    # hinge: relu(1 - D(x)) + relu(1 + D(G(z))), each averaged: (0 + 1) / 2 + (0 + 1) / 2
    assert discriminator_loss("hinge", real, fake).item() == pytest.approx(1.0)
    assert generator_loss("hinge", fake).item() == pytest.approx(1.0)  # -mean(D(G(z)))
    smoothed = discriminator_loss("nonsaturating", real, fake, real_label=0.9)
    expected = F.binary_cross_entropy_with_logits(real, torch.full((2,), 0.9))
    expected = expected + F.binary_cross_entropy_with_logits(fake, torch.zeros(2))
    assert smoothed.item() == pytest.approx(expected.item())
    assert discriminator_loss("nonsaturating", real, fake).item() < smoothed.item()


def test_instance_noise_fades_to_nothing():
    assert [instance_noise_std(0.2, p) for p in (0.0, 0.5, 1.0, 1.2)] == pytest.approx([0.2, 0.1, 0.0, 0.0])


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


def test_translation_shifts_whole_images_and_passes_gradients():
    torch.manual_seed(0)
    images = (torch.arange(2 * 16 * 16, dtype=torch.float32) + 1).view(2, 1, 16, 16).requires_grad_()
    shifted = translate(images)  # up to 2 pixels each way on a 16-pixel side
    for image, moved in zip(images.detach(), shifted.detach(), strict=True):
        kept = moved[moved != 0]
        # a shift: the kept pixels are a contiguous window of the original, in order
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                   if torch.equal(torch.roll(image[0], (dy, dx), (0, 1))[moved[0] != 0], kept)]  # fmt: skip
        assert matches and kept.numel() >= 14 * 14
    shifted.sum().backward()
    assert images.grad.sum() > 0  # G's images get gradients through the augmentation


def test_cutout_blanks_one_square_of_half_the_side():
    torch.manual_seed(0)
    blanked = cutout(torch.ones(64, 1, 8, 8))
    holes = (blanked == 0).squeeze(1)
    assert holes.sum((1, 2)).max() == 16  # a 4 x 4 square at most, fewer where it hangs over the edge
    rows, cols = holes.any(2), holes.any(1)
    assert (rows.sum(1) <= 4).all() and (cols.sum(1) <= 4).all()


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [({"ema_decay": 1.0}, "ema_decay"), ({"ema_decay": True}, "ema_decay"), ({"loss": "wgan"}, "loss"),
     ({"real_label": 0.3}, "real_label"), ({"loss": "hinge", "real_label": 0.9}, "real_label"),
     ({"instance_noise": -0.1}, "instance_noise"), ({"augment": ["flip"]}, "augment")],
)  # fmt: skip
def test_bad_values_name_their_argument(kwargs, argument):
    with pytest.raises(ArgumentError) as error:
        _tiny_gan(**kwargs)
    assert error.value.argument == argument


@pytest.mark.parametrize("override", ["model.ema_decay=1.5", "model.loss=wgan"])
def test_bad_values_in_config_name_their_key_before_training(override, tmp_path):
    key = override.split("=")[0]
    with pytest.raises(ConfigError, match=f"invalid config value '{key}'"):
        train(compose_config("train", tmp_path / "run", ["debug=tiny", override]))
    assert not (tmp_path / "run" / "checkpoints").exists()
