"""Load a GAN checkpoint written by `flik-lab train` and tell which data set it was trained on."""

from collections.abc import Iterable

from hydra.utils import get_object

from flik_lab.models.gan import GAN
from flik_lab.utils.checkpoint import Checkpoint, read_checkpoint
from flik_lab.utils.errors import InputError

KINDS = ("mnist", "celeba")  # the `image_kind` a DataModule declares; latent arithmetic labels these


def load_gan(path: str, trusted: Iterable[str] = (), key: str = "ckpt_path") -> tuple[GAN, Checkpoint]:
    """The GAN (a GAN subclass; eval mode, weights-only load) and its checked checkpoint."""
    ckpt = read_checkpoint(path, key)
    return ckpt.model(trusted, expect=GAN), ckpt


def image_kind(ckpt: Checkpoint, trusted: Iterable[str] = ()) -> str:
    """ "mnist" or "celeba": the `image_kind` of the DataModule class (or its parent) the GAN was trained
    with, read from the stored data config; never guessed from the image shape."""
    data = ckpt.data_config(trusted)  # allow-listed before its class is imported
    kind = getattr(get_object(data._target_), "image_kind", None)
    if kind not in KINDS:
        raise InputError(
            f"{ckpt.source} was trained on {data._target_}, which declares no image_kind among {KINDS}: "
            "latent arithmetic knows MNIST digits and CelebA attributes"
        )
    return kind
