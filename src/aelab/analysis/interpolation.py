"""Latent paths (seed 002's "averaging two latent spaces"): decode a straight line between two codes, and the mean
code of each class. Midway along the path an AE should give one plausible image, where PCA (linear) can only
give the double exposure of the two."""

from __future__ import annotations

from collections.abc import Callable

import torch

from aelab.analysis.codes import encode_images


@torch.no_grad()
def interpolate(
    encode: Callable[[torch.Tensor], torch.Tensor],
    decode: Callable[[torch.Tensor], torch.Tensor],
    a: torch.Tensor,
    b: torch.Tensor,
    steps: int,
) -> torch.Tensor:
    """Decoded images (P, steps, C, H, W) along z_a + t (z_b - z_a) for t from 0 to 1, for P pairs of float images.

    With an odd ``steps`` the middle image is the decoded mean of the two codes.
    """
    if steps < 2:
        raise ValueError(f"an interpolation needs at least 2 steps (its two ends), got {steps}")
    z_a, z_b = encode(a).flatten(1), encode(b).flatten(1)
    t = torch.linspace(0, 1, steps, device=z_a.device).view(1, steps, 1)
    path = z_a[:, None] + t * (z_b - z_a)[:, None]  # (P, steps, k)
    decoded = decode(path.flatten(0, 1)).float()
    return decoded.view(len(a), steps, *a.shape[1:]).cpu()


@torch.no_grad()
def decoded_midpoints(
    encode: Callable[[torch.Tensor], torch.Tensor],
    decode: Callable[[torch.Tensor], torch.Tensor],
    a: torch.Tensor,
    b: torch.Tensor,
) -> torch.Tensor:
    """decode(mean(code A, code B)) for pairs of float images (P, C, H, W): the middle of ``interpolate``."""
    mean_code = (encode(a).flatten(1) + encode(b).flatten(1)) / 2
    return decode(mean_code).float().view_as(a).cpu()


@torch.no_grad()
def decoded_class_means(
    encode: Callable[[torch.Tensor], torch.Tensor],
    decode: Callable[[torch.Tensor], torch.Tensor],
    images_uint8: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int = 512,
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """The classes present (K,) and the decoded mean code of each (K, C, H, W)."""
    codes = encode_images(encode, images_uint8, batch_size, device)
    classes = labels.unique(sorted=True)
    means = torch.stack([codes[labels == c].mean(0) for c in classes]).to(device)
    return classes, decode(means).float().view(len(classes), *images_uint8.shape[1:]).cpu()
