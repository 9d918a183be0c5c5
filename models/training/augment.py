"""Augmentation for the training loop: random affine, colour, flips; N x C x H x W in
[0, 1], random numbers from a CPU torch.Generator. Qt-free."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def augment_colour(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random brightness, contrast (x 0.75-1.25) and, for RGB, saturation of N x C x H x W."""
    n = x.shape[0]

    def factor(spread: float) -> torch.Tensor:
        return (1 + (torch.rand(n, 1, 1, 1, generator=gen) * 2 - 1) * spread).to(x.device)

    x = x * factor(0.25)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * factor(0.25) + mean
    if x.shape[1] == 3:
        gray = x.mean(dim=1, keepdim=True)
        x = (x - gray) * factor(0.3) + gray
    return x.clamp(0, 1)


def augment_flip(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Mirror a random half of N x C x H x W left-right."""
    flip = (torch.rand(x.shape[0], generator=gen) < 0.5).to(x.device).view(-1, 1, 1, 1)
    return torch.where(flip, x.flip(3), x)


def augment_affine(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random shifts (+-10%), turns (+-15 degrees) and scaling (+-15%) of N x C x H x W."""
    n = x.shape[0]
    angle = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(15)
    scale = 1 + (torch.rand(n, generator=gen) * 2 - 1) * 0.15
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * 0.2
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta.to(x.device, x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="border")


def augment_images(flips: bool = False) -> Augment:
    """The image-folder augmentation: affine, colour and, with ``flips``, mirroring."""

    def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        x = augment_colour(augment_affine(x, gen), gen)
        return augment_flip(x, gen) if flips else x

    return augment
