"""`flik-lab latent arithmetic ckpt_path=... expr="7 - 1 + 0"`: add and subtract concept vectors."""

import logging
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from omegaconf import DictConfig

from flik_lab.commands.app import print_written, refuse_to_overwrite, run_command
from flik_lab.data.celeba import CelebADataModule
from flik_lab.images import figure_to_tensor
from flik_lab.latent.concepts import Labeller, attribute_labeller, concept_vectors, digit_labeller
from flik_lab.latent.expression import Term, parse_expression
from flik_lab.latent.gan_checkpoint import image_kind, load_gan
from flik_lab.models.attribute_classifier import AttributeClassifier
from flik_lab.models.mnist_classifier import load_pretrained
from flik_lab.plots.arithmetic import arithmetic_figure
from flik_lab.utils.checkpoint import read_checkpoint
from flik_lab.utils.errors import InputError
from flik_lab.utils.log_image import log_image_once

log = logging.getLogger(__name__)
ALIASES = {"Female": "~Male"}  # CelebA has only "Male"; "Female" reads better in expressions


def labeller_for(kind: str, cfg: DictConfig) -> Labeller:
    """The MNIST classifier shipped with flik-lab, or the CelebA attribute classifier of `classifier_ckpt`."""
    if kind == "mnist":
        return digit_labeller(load_pretrained(), cfg.confidence)
    if cfg.classifier_ckpt is None:
        raise InputError(
            "a CelebA GAN needs classifier_ckpt=<checkpoint of `flik-lab train experiment=celeba_attributes`>"
        )
    ckpt = read_checkpoint(cfg.classifier_ckpt, "classifier_ckpt")
    model = ckpt.model(cfg.trusted_targets, AttributeClassifier)
    names = ckpt.data_state(CelebADataModule)["attr_names"]
    return attribute_labeller(model, names, cfg.confidence)


def check_terms(kind: str, terms: list[Term], expr: str) -> None:
    """Digits only make sense for MNIST GANs and attribute names only for CelebA ones."""
    digits = [t.concept for t in terms if t.concept.isdigit()]
    if kind == "celeba" and digits:
        raise InputError(f"expr={expr!r} uses digits {digits}, but ckpt_path holds a CelebA GAN (attributes)")
    if kind == "mnist" and len(digits) < len(terms):
        names = [t.concept for t in terms if not t.concept.isdigit()]
        raise InputError(f"expr={expr!r} uses {names}, but ckpt_path holds an MNIST GAN: concepts are 0-9")


@torch.no_grad()
def latent_arithmetic(cfg: DictConfig) -> dict[str, Path]:
    """Concept vectors from `num_samples` generated images, their sum per `expr`, its image and neighbours."""
    out = Path(cfg.paths.output_dir)
    files = {"png": out / "arithmetic.png", "pt": out / "arithmetic_vectors.pt"}
    refuse_to_overwrite(*files.values())
    terms = parse_expression(cfg.expr, ALIASES)
    gan, ckpt = load_gan(cfg.ckpt_path, cfg.trusted_targets)
    kind = image_kind(ckpt, cfg.trusted_targets)
    check_terms(kind, terms, cfg.expr)
    labeller = labeller_for(kind, cfg)

    generator = torch.Generator().manual_seed(cfg.seed)
    latents = gan.noise(cfg.num_samples, generator=generator)
    concepts = list(dict.fromkeys(t.concept for t in terms))
    vectors, counts = concept_vectors(gan, latents, labeller, concepts, cfg.min_count)
    result = sum(t.sign * vectors[t.concept] for t in terms)
    around = result + cfg.neighbour_std * gan.noise(cfg.num_neighbours, generator=generator)
    operands = gan(torch.stack([vectors[t.concept] for t in terms]))
    images = gan(torch.cat([result[None], around]))

    out.mkdir(parents=True, exist_ok=True)
    fig = arithmetic_figure(terms, operands, images[0], images[1:])
    fig.savefig(files["png"], dpi=100)
    vectors_cpu = {k: v.cpu() for k, v in vectors.items()}
    torch.save(
        {"expr": cfg.expr, "concepts": vectors_cpu, "counts": counts, "result": result.cpu()}, files["pt"]
    )
    log_image_once(cfg.logger, "arithmetic", figure_to_tensor(fig))
    plt.close(fig)
    log.info("concept sample counts: %s", counts)
    return files


def run(cfg: DictConfig) -> None:
    print_written(latent_arithmetic(cfg).values())


def main() -> None:
    run_command("latent_arithmetic", run)


if __name__ == "__main__":
    main()
