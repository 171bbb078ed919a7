"""The diagonal Gaussian a VAE's encoder gives: q(z|x) = N(mean, diag(exp(log_var))) over flat codes (..., D).

A plain object, not a torch.distributions one: the VAE needs only a reparameterised sample, the mode and the KL to
the N(0, I) prior in closed form, and this keeps each of them one readable line.
"""

from __future__ import annotations

import math

import torch

# exp(-30) ~ 1e-13 and exp(20) ~ 5e8: wide enough for any trained posterior, narrow enough that std, 1/var and
# the KL stay finite when a freshly initialised or diverging head puts out extreme log-variances.
LOG_VAR_RANGE = (-30.0, 20.0)


class DiagonalGaussian:
    """N(mean, diag(exp(log_var))); the last dimension holds the latent units, the rest are examples."""

    def __init__(self, mean: torch.Tensor, log_var: torch.Tensor) -> None:
        if mean.shape != log_var.shape:
            raise ValueError(
                f"DiagonalGaussian: mean has shape {list(mean.shape)} but log_var {list(log_var.shape)}; "
                "the encoder's two heads must give the same shape"
            )
        self.mean = mean
        self.log_var = log_var.clamp(*LOG_VAR_RANGE)

    @property
    def std(self) -> torch.Tensor:
        return torch.exp(0.5 * self.log_var)

    def sample(self) -> torch.Tensor:
        """mean + std * eps with eps ~ N(0, I): a draw that gradients flow through to mean and log_var."""
        return self.mean + self.std * torch.randn_like(self.mean)

    def mode(self) -> torch.Tensor:
        """The most likely code (the mean): the VAE's deterministic code for eval, probes and PCA comparisons."""
        return self.mean

    def kl(self) -> torch.Tensor:
        """KL(q || N(0, I)) per example in closed form, summed over latent units (computed in float32)."""
        mean, log_var = self.mean.float(), self.log_var.float()
        return 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var).sum(-1)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log q(z) per example, summed over latent units (the Monte Carlo check of ``kl`` uses it)."""
        mean, log_var = self.mean.float(), self.log_var.float()
        return -0.5 * ((z.float() - mean).pow(2) / log_var.exp() + log_var + math.log(2 * math.pi)).sum(-1)
