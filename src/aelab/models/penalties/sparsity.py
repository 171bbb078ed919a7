"""Sparse codes: an L1 activity penalty and a KL sparsity penalty toward a target rate.

- L1 (Keras ``activity_regularizer=l1``, seeds 001/004): sum |z| per image, averaged over the batch.
- KL sparsity (Ng's sparse autoencoder notes): each unit's mean activation over the batch, rho_hat_j, is pulled
  toward a small target rho by sum_j KL(rho || rho_hat_j); it needs codes in [0, 1] (a sigmoid code layer).

k-sparse codes are a constraint rather than a loss term: see models/code_transforms.py.
"""

from __future__ import annotations

import torch
from torch import nn

from aelab.models.penalties.base import Penalty, StepOutputs


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
