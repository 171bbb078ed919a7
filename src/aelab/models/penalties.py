"""The seam for regularisers (sparse, contractive, L2 on the code layer, ...).

A penalty sees everything one training step produced and returns one scalar term; the AutoEncoder adds
``weight * term`` to the reconstruction loss and logs each term under ``train/<name>``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class StepOutputs:
    """What one forward pass produced, handed to every penalty."""

    x: torch.Tensor  # clean input, float in [0, 1], (B, C, H, W)
    x_in: torch.Tensor  # what the encoder saw (the corrupted input for a denoising AE)
    z: torch.Tensor  # the code as the encoder returned it
    x_hat: torch.Tensor  # the reconstruction
    encoder: nn.Module
    decoder: nn.Module


class Penalty(nn.Module):
    """Base class: subclasses set ``name`` and implement ``term``; ``weight`` scales the term in the loss."""

    name: str = "penalty"

    def __init__(self, weight: float) -> None:
        super().__init__()
        if weight < 0:
            raise ValueError(f"{type(self).__name__}: weight must be >= 0, got {weight}")
        self.weight = float(weight)

    def term(self, out: StepOutputs) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, out: StepOutputs) -> torch.Tensor:
        return self.term(out)
