"""Paths between latent points: linear (lerp) and spherical (slerp, White 2016)."""

import torch

from flik_lab.utils.errors import InputError

METHODS = ("slerp", "lerp")


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Points `(1 - t) a + t b` for each `t`: `(T, d)` from `a`, `b` of shape `(d,)`."""
    t = t.unsqueeze(-1)
    return (1 - t) * a + t * b


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Points on the great circle from `a` to `b` (Shoemake's formula, as used by White 2016).

    Under a Gaussian prior almost all mass lies near the shell of radius sqrt(d); lerp's midpoint of two
    samples falls inside it (norm about sqrt(d / 2)), slerp's stays on it. Parallel points fall back to lerp.
    """
    cos = torch.dot(a, b) / (a.norm() * b.norm()).clamp_min(eps)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if omega.abs() < eps or (torch.pi - omega).abs() < eps:  # parallel: no unique great circle
        return lerp(a, b, t)
    t = t.unsqueeze(-1)
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def interpolate(a: torch.Tensor, b: torch.Tensor, steps: int, method: str = "slerp") -> torch.Tensor:
    """`steps` latent points from `a` to `b` (both included), shape `(steps, d)`."""
    if method not in METHODS:
        raise InputError(f"method={method!r}; expected one of {METHODS}")
    if steps < 2:
        raise InputError(f"steps={steps}; expected at least 2 (the two endpoints)")
    t = torch.linspace(0, 1, steps, dtype=a.dtype, device=a.device)
    return (slerp if method == "slerp" else lerp)(a, b, t)
