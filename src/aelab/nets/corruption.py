"""Input corruptions for denoising autoencoders: applied to the input in training, the clean image is the target.

Each is an nn.Module on float images in [0, 1] (B, C, H, W) that returns a corrupted copy, also in [0, 1].
"""

from __future__ import annotations

import torch
from torch import nn


def _check_level(name: str, value: float, upper: float | None = None) -> float:
    if value < 0 or (upper is not None and value > upper):
        bound = f" and at most {upper}" if upper is not None else ""
        raise ValueError(f"noise {name} must be >= 0{bound}, got {value}")
    return float(value)


class GaussianNoise(nn.Module):
    """x + factor * N(0, 1), clipped to [0, 1] (seed 000: factor 0.5; seed 003: sigma 0.1)."""

    def __init__(self, factor: float = 0.5, clip: bool = True) -> None:
        super().__init__()
        self.factor = _check_level("factor", factor)
        self.clip = clip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        noisy = x + self.factor * torch.randn_like(x)
        return noisy.clamp(0.0, 1.0) if self.clip else noisy


class SaltAndPepper(nn.Module):
    """A share ``amount`` of pixels set to 0 or 1 (half each)."""

    def __init__(self, amount: float = 0.1) -> None:
        super().__init__()
        self.amount = _check_level("amount", amount, upper=1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        draw = torch.rand_like(x)
        noisy = x.masked_fill(draw < self.amount / 2, 0.0)
        return noisy.masked_fill((draw >= self.amount / 2) & (draw < self.amount), 1.0)


class Masking(nn.Module):
    """A share ``fraction`` of pixels dropped to 0 (masking noise)."""

    def __init__(self, fraction: float = 0.25) -> None:
        super().__init__()
        self.fraction = _check_level("fraction", fraction, upper=1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.masked_fill(torch.rand_like(x) < self.fraction, 0.0)
