"""Fully connected encoder and decoder. They flatten and unflatten themselves, so any (C, H, W) data fits."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn

from aelab.nets.activations import check_latent_dim, make_activation


def _mlp(sizes: Sequence[int], activation: str | None, last_activation: str | None) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(fan_in, fan_out))
        is_last = i == len(sizes) - 2
        act = make_activation(last_activation if is_last else activation)
        if not isinstance(act, nn.Identity):
            layers.append(act)
    return nn.Sequential(*layers)


class MLPEncoder(nn.Module):
    """x (B, C, H, W) -> z (B, latent_dim) through ``hidden_dims``."""

    def __init__(
        self,
        input_shape: Sequence[int],
        latent_dim: int,
        hidden_dims: Sequence[int] = (),
        activation: str | None = "relu",
        latent_activation: str | None = None,
    ) -> None:
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.latent_dim = check_latent_dim(latent_dim)
        self.net = _mlp([math.prod(self.input_shape), *hidden_dims, latent_dim], activation, latent_activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))


class MLPDecoder(nn.Module):
    """z (B, latent_dim) -> x_hat (B, C, H, W) through ``hidden_dims``."""

    def __init__(
        self,
        output_shape: Sequence[int],
        latent_dim: int,
        hidden_dims: Sequence[int] = (),
        activation: str | None = "relu",
        output_activation: str | None = "sigmoid",
    ) -> None:
        super().__init__()
        self.output_shape = tuple(output_shape)
        self.latent_dim = check_latent_dim(latent_dim)
        self.net = _mlp([latent_dim, *hidden_dims, math.prod(self.output_shape)], activation, output_activation)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.flatten(1)).view(-1, *self.output_shape)
