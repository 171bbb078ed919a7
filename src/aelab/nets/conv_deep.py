"""Seed 002's SELU deep conv autoencoder: 128x128x3 images <-> a 1024-dim code.

Encoder: five 3x3 same convs (32, 64, 128, 256, 512; SELU, LeCun normal) with 2x2 max-pooling after the first four,
global max pooling, then dense 512 -> 1024 (SELU). 2,093,888 parameters.
Decoder: reshape 1024 -> 4x16x16, conv 512, up x2, conv 256, up x2, conv 128, up x2, conv 64, conv 32, conv 3
(sigmoid). 1,587,011 parameters. Both work at other sizes where the shapes allow (the decoder's reshape grid is
the image size / 8, so the code must fill it evenly).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from aelab.errors import ShapeMismatchError
from aelab.nets.activations import check_latent_dim, make_activation
from aelab.nets.init import apply_init


def _conv(in_ch: int, out_ch: int, activation: str | None) -> list[nn.Module]:
    return [nn.Conv2d(in_ch, out_ch, 3, padding="same"), make_activation(activation)]


class DeepConvEncoder(nn.Module):
    def __init__(
        self,
        input_shape: Sequence[int],
        latent_dim: int = 1024,
        channels: Sequence[int] = (32, 64, 128, 256, 512),
        activation: str | None = "selu",
        latent_activation: str | None = "selu",
        init: str = "lecun_normal",
    ) -> None:
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.latent_dim = check_latent_dim(latent_dim)
        n_pools = len(channels) - 1
        height, width = self.input_shape[1:]
        if min(height, width) < 2**n_pools:
            raise ShapeMismatchError(
                f"DeepConvEncoder: images of {height}x{width} are too small for {n_pools} 2x2 poolings; "
                f"use at least {2**n_pools}x{2**n_pools} (data.image_size) or fewer channels entries."
            )
        layers: list[nn.Module] = []
        in_ch = self.input_shape[0]
        for i, out_ch in enumerate(channels):
            layers += _conv(in_ch, out_ch, activation)
            if i < n_pools:
                layers.append(nn.MaxPool2d(2))
            in_ch = out_ch
        layers += [
            nn.AdaptiveMaxPool2d(1),
            nn.Flatten(),
            nn.Linear(in_ch, latent_dim),
            make_activation(latent_activation),
        ]
        self.net = nn.Sequential(*layers)
        apply_init(self, init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class DeepConvDecoder(nn.Module):
    def __init__(
        self,
        output_shape: Sequence[int],
        latent_dim: int = 1024,
        channels: Sequence[int] = (512, 256, 128, 64, 32),
        num_upsamples: int = 3,
        activation: str | None = "selu",
        output_activation: str | None = "sigmoid",
        init: str = "lecun_normal",
    ) -> None:
        super().__init__()
        self.output_shape = tuple(output_shape)
        self.latent_dim = check_latent_dim(latent_dim)
        out_ch, height, width = self.output_shape
        scale = 2**num_upsamples
        if height % scale or width % scale:
            raise ShapeMismatchError(
                f"DeepConvDecoder: {num_upsamples} 2x upsamplings cannot produce {height}x{width} images; "
                f"data.image_size must be a multiple of {scale}."
            )
        grid = (height // scale, width // scale)
        if latent_dim % math.prod(grid):
            raise ShapeMismatchError(
                f"DeepConvDecoder: the {latent_dim}-dim code cannot be reshaped onto a {grid[0]}x{grid[1]} grid "
                f"(needed for {height}x{width} images); choose model.latent_dim as a multiple of {math.prod(grid)}."
            )
        self.code_grid = (latent_dim // math.prod(grid), *grid)
        layers: list[nn.Module] = [nn.Unflatten(1, self.code_grid)]
        in_ch = self.code_grid[0]
        for i, width_ch in enumerate(channels):
            layers += _conv(in_ch, width_ch, activation)
            if i < num_upsamples:
                layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
            in_ch = width_ch
        layers += _conv(in_ch, out_ch, output_activation)
        self.net = nn.Sequential(*layers)
        apply_init(self, init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.flatten(1))
