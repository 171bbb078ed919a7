"""Code transforms: constraints applied to the code between encoder and decoder, in training and inference alike.

k-sparse (Makhzani & Frey 2013): keep the k largest code units of each image, zero the rest. Unlike a penalty it adds
no loss term; the decoder only ever sees the constrained code.
"""

from __future__ import annotations

import torch
from torch import nn


class KSparse(nn.Module):
    """Keep the ``k`` largest units of each code, zero the rest; gradients flow through the kept units only."""

    def __init__(self, k: int) -> None:
        super().__init__()
        if not isinstance(k, int) or k <= 0:
            raise ValueError(f"KSparse: k (units kept per code) must be a positive integer, got {k!r}")
        self.k = k

    def bind(self, model: nn.Module) -> None:
        if self.k > model.latent_dim:
            raise ValueError(
                f"k-sparse keeps k={self.k} code units, but the code has only {model.latent_dim}; "
                f"set model.code_transform.k to at most {model.latent_dim} (or raise model.latent_dim)."
            )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        flat = z.flatten(1)
        kept = flat.topk(self.k, dim=1).indices
        mask = torch.zeros_like(flat).scatter_(1, kept, 1.0)
        return (flat * mask).view_as(z)
