"""Sparse codes: an L1 activity penalty, a KL sparsity penalty toward a target rate, and k-sparse codes.

- L1 (Keras ``activity_regularizer=l1``, seeds 001/004): sum |z| per image, averaged over the batch.
- KL sparsity (Ng's sparse autoencoder notes): each unit's mean activation over the batch, rho_hat_j, is pulled
  toward a small target rho by sum_j KL(rho || rho_hat_j); it needs codes in [0, 1] (a sigmoid code layer).
- k-sparse (Makhzani & Frey 2013): keep the k largest code units of each image, zero the rest. It is a constraint
  on the code rather than a loss term, so it is a code transform between encoder and decoder.
"""

from __future__ import annotations

import torch
from torch import nn

from aelab.models.penalties import Penalty, StepOutputs


class L1Activity(Penalty):
    """weight * mean over the batch of sum_j |z_j|: pushes code units to exactly zero."""

    name = "l1"

    def __init__(self, weight: float = 1e-4) -> None:
        super().__init__(weight)

    def term(self, out: StepOutputs) -> torch.Tensor:
        return out.z.flatten(1).abs().sum(1).mean()


def bernoulli_kl(rho: float, rho_hat: torch.Tensor) -> torch.Tensor:
    """KL(Bernoulli(rho) || Bernoulli(rho_hat)) per unit."""
    return rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))


class KLSparsity(Penalty):
    """weight (beta) * sum_j KL(rho || mean activation of unit j over the batch)."""

    name = "kl_sparsity"

    def __init__(self, weight: float = 1e-3, rho: float = 0.05, eps: float = 1e-6) -> None:
        super().__init__(weight)
        if not 0 < rho < 1:
            raise ValueError(f"KLSparsity: the target activation rho must be in (0, 1), got {rho}")
        self.rho = float(rho)
        self.eps = float(eps)

    def bind(self, model: nn.Module) -> None:
        last = [m for m in model.encoder.modules() if not list(m.children())][-1:]
        if not (last and isinstance(last[0], nn.Sigmoid)):
            raise ValueError(
                "penalty kl_sparsity needs codes in [0, 1] (it reads them as firing rates), but this encoder's last "
                f"layer is {type(last[0]).__name__ if last else 'missing'}, not a sigmoid. Give the code layer a "
                "sigmoid (e.g. model.encoder.latent_activation=sigmoid) or use penalty=l1."
            )

    def term(self, out: StepOutputs) -> torch.Tensor:
        rho_hat = out.z.flatten(1).float().mean(0).clamp(self.eps, 1 - self.eps)
        return bernoulli_kl(self.rho, rho_hat).sum()


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
