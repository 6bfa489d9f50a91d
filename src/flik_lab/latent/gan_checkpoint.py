"""Load a GAN checkpoint written by `flik-lab train` and tell which kind of images it draws."""

from collections.abc import Iterable

from flik_lab.models.gan import GAN
from flik_lab.utils.checkpoint import load_checkpoint, model_from_checkpoint

KINDS = {(1, 28): "mnist", (3, 64): "celeba"}  # (channels, image_size) of the generator


def load_gan(path: str, trusted: Iterable[str] = (), key: str = "ckpt_path") -> tuple[GAN, dict]:
    """The GAN (a GAN subclass; eval mode, weights-only load) and its raw checkpoint dict."""
    ckpt = load_checkpoint(path, key)
    return model_from_checkpoint(ckpt, f"{key}={path}", trusted, expect=GAN), ckpt


def image_kind(ckpt: dict) -> str:
    """ "mnist" for 1x28x28 generators, "celeba" for 3x64x64 ones."""
    generator = ckpt["flik_lab"]["model"]["generator"]
    shape = (generator.get("channels"), generator.get("image_size"))
    if shape not in KINDS:
        raise ValueError(f"a generator of {shape[0]} channels x {shape[1]} px is neither MNIST nor CelebA")
    return KINDS[shape]
