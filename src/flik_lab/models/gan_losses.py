"""The adversarial losses a GAN can be trained with, on the discriminator's logits."""

from typing import Literal

import torch
import torch.nn.functional as F

# nonsaturating: Goodfellow et al. 2014 with G maximising log D(G(z)); hinge: Lim & Ye 2017 / Miyato et al.
# 2018 (the spectral-normalisation paper's loss)
GanLoss = Literal["nonsaturating", "hinge"]


def discriminator_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """D's loss on its logits for real and generated images."""
    if kind == "hinge":
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    real_loss = F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
    return real_loss + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))


def generator_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    """G's loss on D's logits for its images."""
    if kind == "hinge":
        return -fake.mean()
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def r1_penalty(real_logits: torch.Tensor, real_images: torch.Tensor, gamma: float) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): gamma/2 times D's squared input-gradient norm on real images, which
    must have been made `requires_grad` before D read them; differentiable, so D is trained on it."""
    (grad,) = torch.autograd.grad(real_logits.float().sum(), real_images, create_graph=True)
    return 0.5 * gamma * grad.float().pow(2).flatten(1).sum(1).mean()
