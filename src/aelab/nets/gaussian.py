"""A VAE's encoder: any deterministic encoder body giving (B, F) features, then two linear heads for q(z|x).

The body is built like any other encoder (MLPEncoder, StridedConvEncoder, ...) with its own ``latent_dim`` set to
the feature width the heads read, so every encoder in nets/ doubles as a VAE body without a Gaussian variant of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from aelab.instantiate import build
from aelab.nets.activations import check_latent_dim

if TYPE_CHECKING:
    from aelab.models.distributions import DiagonalGaussian


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
        from aelab.models.distributions import DiagonalGaussian  # here, not at the top: aelab.models imports Lightning

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
