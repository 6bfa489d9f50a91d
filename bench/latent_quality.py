"""How well latent paths and arithmetic stay on the digit manifold of an MNIST GAN (a measurement).

"Confident" = the shipped MNIST classifier's top softmax >= 0.9 (held-out real digits: 97.4 %).
    python bench/latent_quality.py <run>/checkpoints/last.ckpt [--pairs 300] [--steps 10]
"""

import argparse

import torch

from flik_lab.latent.concepts import concept_vectors, digit_labeller
from flik_lab.latent.gan_checkpoint import load_gan
from flik_lab.latent.interpolation import interpolate
from flik_lab.models.mnist_classifier import load_pretrained

CONFIDENCE = 0.9


@torch.no_grad()
def confident_share(classifier, images: torch.Tensor) -> float:
    return (classifier(images).softmax(1).max(1).values >= CONFIDENCE).float().mean().item()


@torch.no_grad()
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ckpt_path")
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    gan, _ = load_gan(args.ckpt_path)
    classifier = load_pretrained()
    generator = torch.Generator().manual_seed(args.seed)
    start, end = gan.noise(args.pairs, generator), gan.noise(args.pairs, generator)
    print(f"checkpoint: {args.ckpt_path}\n")
    print(f"interpolation: {args.pairs} random pairs x {args.steps} steps")
    print(f"method  all frames  interior frames  midpoint |z| (prior sqrt(d) = {gan.latent_dim**0.5:.1f})")
    for method in ("lerp", "slerp"):
        paths = torch.stack([interpolate(a, b, args.steps, method) for a, b in zip(start, end, strict=True)])
        images = gan(paths.flatten(0, 1)).unflatten(0, paths.shape[:2])
        interior = images[:, 1:-1].flatten(0, 1)
        mid = paths[:, args.steps // 2].norm(dim=1).mean().item()
        print(
            f"{method:6s}  {confident_share(classifier, images.flatten(0, 1)):10.3f}  "
            f"{confident_share(classifier, interior):15.3f}  {mid:8.2f}"
        )

    latents = gan.noise(args.samples, generator)
    labeller = digit_labeller(classifier, CONFIDENCE)
    vectors, counts = concept_vectors(gan, latents, labeller, [str(d) for d in range(10)], min_count=5)
    triples = torch.randint(0, 10, (100, 3), generator=generator).tolist()
    results = torch.stack([vectors[str(a)] - vectors[str(b)] + vectors[str(c)] for a, b, c in triples])
    neighbours = results.repeat_interleave(8, 0) + 0.25 * gan.noise(len(results) * 8, generator)
    print(f"\narithmetic: 100 random 'a - b + c' over digit vectors (confident samples per digit: {counts})")
    print(
        f"results confident: {confident_share(classifier, gan(results)):.3f}; "
        f"their neighbours (+0.25 N(0, I)): {confident_share(classifier, gan(neighbours)):.3f}; "
        f"single random samples: {confident_share(classifier, gan(latents[:800])):.3f}"
    )


if __name__ == "__main__":
    main()
