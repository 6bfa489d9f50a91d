"""A GAN checkpoint's data set comes from its stored data class (`image_kind`), never from the image shape."""

import pytest
import torch

from flik_lab.data.mnist5k import MNIST5kDataModule
from flik_lab.latent.gan_checkpoint import image_kind


class MyDigits(MNIST5kDataModule):
    """A user's own digits module: a subclass keeps its parent's image_kind."""


def _ckpt(trained_gan, data_target: str | None = None) -> dict:
    ckpt = torch.load(trained_gan / "checkpoints" / "last.ckpt", weights_only=True)
    if data_target:
        ckpt["flik_lab"]["data"]["_target_"] = data_target
    return ckpt


def test_the_shipped_digits_are_mnist(trained_gan):
    assert image_kind(_ckpt(trained_gan)) == "mnist"


def test_a_subclass_keeps_its_parents_kind_once_trusted(trained_gan):
    ckpt = _ckpt(trained_gan, f"{__name__}.MyDigits")
    with pytest.raises(ValueError, match="trusted_targets"):
        image_kind(ckpt)
    assert image_kind(ckpt, trusted=[f"{__name__}.MyDigits"]) == "mnist"


def test_a_data_set_without_a_kind_is_an_error_not_a_guess(trained_gan):
    # 28x28 grey images, but stored as trained on a data set latent arithmetic cannot label
    ckpt = _ckpt(trained_gan)
    ckpt["flik_lab"]["data"] = {"_target_": "flik_lab.data.imdb.IMDBDataModule", "data_dir": "/nowhere"}
    with pytest.raises(ValueError, match="IMDBDataModule, which declares no image_kind"):
        image_kind(ckpt, source="ckpt_path=x.ckpt")
