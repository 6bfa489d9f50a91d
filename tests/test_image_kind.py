"""A GAN checkpoint's data set comes from its stored data class (`image_kind`), never from the image shape."""

import pytest
import torch

from flik_lab.data.image_tensors import ImageTensorDataModule
from flik_lab.data.mnist5k import MNIST5kDataModule
from flik_lab.latent.gan_checkpoint import image_kind
from flik_lab.utils.checkpoint import Checkpoint, read_checkpoint


class MyDigits(MNIST5kDataModule):
    """A user's own digits module: a subclass keeps its parent's image_kind."""


class MyImages(ImageTensorDataModule):
    """A user's own images: nothing latent arithmetic could label."""


def _ckpt(trained_gan, tmp_path, data: dict | None = None) -> Checkpoint:
    ckpt = torch.load(trained_gan / "checkpoints" / "last.ckpt", weights_only=True)
    if data:
        ckpt["flik_lab"]["data"] = data
    torch.save(ckpt, tmp_path / "gan.ckpt")
    return read_checkpoint(tmp_path / "gan.ckpt")


def test_the_shipped_digits_are_mnist(trained_gan, tmp_path):
    assert image_kind(_ckpt(trained_gan, tmp_path)) == "mnist"


def test_a_subclass_keeps_its_parents_kind_once_trusted(trained_gan, tmp_path):
    ckpt = _ckpt(trained_gan, tmp_path, {"_target_": f"{__name__}.MyDigits"})
    with pytest.raises(ValueError, match="trusted_targets"):
        image_kind(ckpt)
    assert image_kind(ckpt, trusted=[f"{__name__}.MyDigits"]) == "mnist"


def test_a_data_set_without_a_kind_is_an_error_not_a_guess(trained_gan, tmp_path):
    # 28x28 grey images, but stored as trained on a data set latent arithmetic cannot label
    ckpt = _ckpt(trained_gan, tmp_path, {"_target_": f"{__name__}.MyImages"})
    with pytest.raises(ValueError, match="MyImages, which declares no image_kind"):
        image_kind(ckpt, trusted=[f"{__name__}.MyImages"])
