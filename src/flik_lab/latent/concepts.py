"""Concept vectors in latent space: the mean latent of generated samples a classifier is sure about."""

from collections.abc import Callable

import torch

from flik_lab.utils.errors import InputError

# images in [-1, 1] -> {concept name: bool mask of the samples confidently showing it}
Labeller = Callable[[torch.Tensor], dict[str, torch.Tensor]]


def digit_labeller(classifier: torch.nn.Module, confidence: float) -> Labeller:
    """Concepts "0" ... "9": samples the MNIST classifier labels as that digit with softmax >= confidence."""

    def label(images: torch.Tensor) -> dict[str, torch.Tensor]:
        probs = classifier(images.float()).softmax(dim=1)
        top, digit = probs.max(dim=1)
        sure = top >= confidence
        return {str(d): sure & (digit == d) for d in range(probs.shape[1])}

    return label


def attribute_labeller(classifier: torch.nn.Module, names: list[str], confidence: float) -> Labeller:
    """Concept "A": attribute probability >= confidence; "~A": <= 1 - confidence (confidently absent)."""

    def label(images: torch.Tensor) -> dict[str, torch.Tensor]:
        probs = torch.sigmoid(classifier(images.float()))
        masks = {name: probs[:, i] >= confidence for i, name in enumerate(names)}
        masks.update({f"~{name}": probs[:, i] <= 1 - confidence for i, name in enumerate(names)})
        return masks

    return label


@torch.no_grad()
def concept_vectors(
    generate: Callable[[torch.Tensor], torch.Tensor],
    latents: torch.Tensor,
    labeller: Labeller,
    concepts: list[str],
    min_count: int = 10,
    batch_size: int = 500,
) -> tuple[dict[str, torch.Tensor], dict[str, int]]:
    """Mean latent vector of each concept's confident samples among `latents`, and their counts.

    Averaging many vectors is what makes DCGAN-style arithmetic stable; a single one is not (Radford 2016).
    """
    masks: dict[str, list[torch.Tensor]] = {}
    for chunk in latents.split(batch_size):
        for name, mask in labeller(generate(chunk)).items():
            masks.setdefault(name, []).append(mask.cpu())
    unknown = [c for c in concepts if c not in masks]
    if unknown:
        raise InputError(f"unknown concept(s) {unknown}; this checkpoint knows {sorted(masks, key=_order)}")
    vectors, counts = {}, {}
    for concept in concepts:
        mask = torch.cat(masks[concept])
        counts[concept] = int(mask.sum())
        if counts[concept] < min_count:
            raise InputError(
                f"only {counts[concept]} of {len(latents)} samples are confidently {concept!r} (need "
                f"min_count={min_count}): draw more with num_samples=, or lower confidence="
            )
        vectors[concept] = latents[mask.to(latents.device)].mean(dim=0)
    return vectors, counts


def _order(name: str) -> tuple[bool, str]:
    return name.startswith("~"), name
