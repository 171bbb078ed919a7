"""Arithmetic on flat codes (N, k): points on the straight line between two codes, the mean of two codes, the mean
code of each class.

The VAE's ``interpolate`` and the latent analyses (which decode what these give) share them, so they live in the
lowest layer both can reach.
"""

from __future__ import annotations

import torch


def codes_between(z_a: torch.Tensor, z_b: torch.Tensor, steps: int) -> torch.Tensor:
    """(P, steps, k): for each of P pairs, ``steps`` evenly spaced codes from z_a to z_b, both ends exactly."""
    if steps < 2:
        raise ValueError(f"an interpolation needs at least 2 steps (its two ends), got {steps}")
    t = torch.linspace(0.0, 1.0, steps, device=z_a.device, dtype=z_a.dtype).view(1, steps, 1)
    return (1 - t) * z_a[:, None] + t * z_b[:, None]


def mean_code(z_a: torch.Tensor, z_b: torch.Tensor) -> torch.Tensor:
    """The code halfway between each pair: what "averaging two images in latent space" decodes."""
    return (z_a + z_b) / 2


def class_mean_codes(codes: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The classes present (K,), sorted, and the mean code of each (K, k)."""
    classes = labels.unique(sorted=True)
    return classes, torch.stack([codes[labels == c].mean(0) for c in classes])
