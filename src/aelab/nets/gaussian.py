"""A VAE's encoder: any deterministic encoder body giving (B, F) features, then two linear heads for q(z|x), the
diagonal Gaussian posterior those heads parameterise.

The body is built like any other encoder (MLPEncoder, StridedConvEncoder, ...) with its own ``latent_dim`` set to
the feature width the heads read, so every encoder in nets/ doubles as a VAE body without a Gaussian variant of it.

``DiagonalGaussian`` is a plain object, not a torch.distributions one: the VAE needs only a reparameterised sample,
the mode and the KL to the N(0, I) prior in closed form, and this keeps each of them one readable line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from aelab.build import build
from aelab.nets.activations import check_latent_dim

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


class GaussianEncoder(nn.Module):
    """x -> DiagonalGaussian(mean, log_var) over ``latent_dim`` units.

    ``feature_dim`` is the width of the body's output; left out, it is the body's ``latent_dim`` (as aelab's
    encoders have). Give it for a body without one.
    """

    def __init__(self, body: Mapping[str, Any] | nn.Module, latent_dim: int, feature_dim: int | None = None) -> None:
        super().__init__()
        body = build(body)
        self.body = body
        self.latent_dim = check_latent_dim(latent_dim)
        features = feature_dim if feature_dim is not None else getattr(body, "latent_dim", None)
        if not isinstance(features, int) or features <= 0:
            raise ValueError(
                f"GaussianEncoder: cannot tell how many features the body {type(body).__name__} gives (got "
                f"{features!r}); set feature_dim to the width of its flattened output"
            )
        self.feature_dim = features
        self.log_var_head = nn.Linear(features, latent_dim)
        # the mean head comes last: it writes the code, and penalty=l2_code's "code_layer" is the last Linear
        self.mean_head = nn.Linear(features, latent_dim)

    def forward(self, x: torch.Tensor) -> DiagonalGaussian:
        features = self.body(x).flatten(1)
        return DiagonalGaussian(self.mean_head(features), self.log_var_head(features))


class PosteriorMean(nn.Module):
    """x -> the posterior mean of a GaussianEncoder: the deterministic encoder that penalties differentiate
    (contractive) when the model is a VAE. Holds the encoder, adds no parameters."""

    def __init__(self, encoder: GaussianEncoder) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x).mode()
