"""Latent paths (seed 002's "averaging two latent spaces"): decode a straight line between two codes, and the mean
code of each class. Midway along the path an AE should give one plausible image, where PCA (linear) can only
give the double exposure of the two."""

from __future__ import annotations

import torch

from aelab.analysis.codes import Batchwise, encode_images
from aelab.nets.latent import class_mean_codes, codes_between, mean_code


@torch.no_grad()
def interpolate(
    encode: Batchwise,
    decode: Batchwise,
    a: torch.Tensor,
    b: torch.Tensor,
    steps: int,
) -> torch.Tensor:
    """Decoded images (P, steps, C, H, W) along (1 - t) z_a + t z_b for t from 0 to 1, for P pairs of float images.

    With an odd ``steps`` the middle image is the decoded mean of the two codes.
    """
    path = codes_between(encode(a).flatten(1), encode(b).flatten(1), steps)  # (P, steps, k)
    decoded = decode(path.flatten(0, 1)).float()
    return decoded.view(len(a), steps, *a.shape[1:]).cpu()


@torch.no_grad()
def decoded_midpoints(
    encode: Batchwise,
    decode: Batchwise,
    a: torch.Tensor,
    b: torch.Tensor,
) -> torch.Tensor:
    """decode(mean(code A, code B)) for pairs of float images (P, C, H, W): the middle of ``interpolate``."""
    return decode(mean_code(encode(a).flatten(1), encode(b).flatten(1))).float().view_as(a).cpu()


@torch.no_grad()
def decoded_class_means(
    encode: Batchwise,
    decode: Batchwise,
    images_uint8: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int = 512,
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """The classes present (K,) and the decoded mean code of each (K, C, H, W)."""
    classes, means = class_mean_codes(encode_images(encode, images_uint8, batch_size, device), labels)
    return classes, decode(means.to(device)).float().view(len(classes), *images_uint8.shape[1:]).cpu()
