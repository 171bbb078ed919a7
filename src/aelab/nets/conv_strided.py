"""Seed 004's strided conv AE: stride-2 convs down, a dense linear code, stride-2 transposed convs up.

Encoder: 3x3 stride-2 convs (32, 64; ReLU) halve the image per entry (rounding up, like Keras' 'same'), then
flatten and a dense layer to the code, with no activation. Decoder: dense to the encoder's last feature map, 3x3
stride-2 transposed convs (64, 32; ReLU) double it per entry, and a stride-1 transposed conv to the image channels
(sigmoid). At 1x28x28 with a 16-dim code: encoder 69,008 and decoder 108,993 parameters, as the Keras model.
Odd sizes overshoot on the way up (7 -> 4 -> 8) and are cropped back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from aelab.nets.activations import check_latent_dim, make_activation


def _check(name: str, channels: Sequence[int], kernel_size: int) -> None:
    """Strided nets need at least one stage, and an odd kernel so that padding k // 2 halves sizes exactly."""
    if not channels:
        raise ValueError(f"{name} needs at least one entry in channels (one stride-2 stage each), got {channels!r}")
    if kernel_size % 2 == 0 or kernel_size < 1:
        raise ValueError(
            f"{name}: kernel_size must be odd (3, 5, ...) to halve sizes like Keras' 'same', got {kernel_size}"
        )


def feature_grid(height: int, width: int, n_stages: int) -> tuple[int, int]:
    """The feature map size after ``n_stages`` stride-2 convs: each rounds odd sizes up."""
    return math.ceil(height / 2**n_stages), math.ceil(width / 2**n_stages)


class StridedConvEncoder(nn.Module):
    """x (B, C, H, W) -> z (B, latent_dim): one stride-2 conv per ``channels`` entry, then a dense code layer.

    ``dense_dims`` puts hidden dense layers between the last feature map and the code: a very small code (2-D)
    gets a gentler funnel than one linear map from thousands of features."""

    def __init__(
        self,
        input_shape: Sequence[int],
        latent_dim: int,
        channels: Sequence[int] = (32, 64),
        kernel_size: int = 3,
        activation: str | None = "relu",
        latent_activation: str | None = None,
        dense_dims: Sequence[int] = (),
    ) -> None:
        super().__init__()
        _check("StridedConvEncoder", channels, kernel_size)
        self.input_shape = tuple(input_shape)
        self.latent_dim = check_latent_dim(latent_dim)
        layers: list[nn.Module] = []
        in_ch = self.input_shape[0]
        for out_ch in channels:
            layers += [
                nn.Conv2d(in_ch, out_ch, kernel_size, stride=2, padding=kernel_size // 2),
                make_activation(activation),
            ]
            in_ch = out_ch
        width = in_ch * math.prod(feature_grid(*self.input_shape[1:], len(channels)))
        layers.append(nn.Flatten())
        for hidden in dense_dims:
            layers += [nn.Linear(width, hidden), make_activation(activation)]
            width = hidden
        layers += [nn.Linear(width, latent_dim), make_activation(latent_activation)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class StridedConvDecoder(nn.Module):
    """z (B, latent_dim) -> x_hat (B, C, H, W): the encoder mirrored with stride-2 transposed convs.

    ``feature_channels`` is the depth of the map the code is expanded to: the encoder's last ``channels`` entry,
    which for a mirrored net is the decoder's first (the default). ``dense_dims`` are hidden dense layers from the
    code to that map (the encoder's, reversed, for a mirrored net).
    """

    def __init__(
        self,
        output_shape: Sequence[int],
        latent_dim: int,
        channels: Sequence[int] = (64, 32),
        kernel_size: int = 3,
        activation: str | None = "relu",
        output_activation: str | None = "sigmoid",
        feature_channels: int | None = None,
        dense_dims: Sequence[int] = (),
    ) -> None:
        super().__init__()
        _check("StridedConvDecoder", channels, kernel_size)
        self.output_shape = tuple(output_shape)
        self.latent_dim = check_latent_dim(latent_dim)
        out_ch, height, width = self.output_shape
        in_ch = channels[0] if feature_channels is None else feature_channels
        self.feature_shape = (in_ch, *feature_grid(height, width, len(channels)))
        pad = kernel_size // 2
        layers: list[nn.Module] = []
        width = latent_dim
        for hidden in dense_dims:
            layers += [nn.Linear(width, hidden), make_activation(activation)]
            width = hidden
        layers += [nn.Linear(width, math.prod(self.feature_shape)), nn.Unflatten(1, self.feature_shape)]
        for width_ch in channels:
            # padding k//2 with output_padding 1 doubles the size exactly, as Keras' 'same' with stride 2
            layers += [
                nn.ConvTranspose2d(in_ch, width_ch, kernel_size, stride=2, padding=pad, output_padding=1),
                make_activation(activation),
            ]
            in_ch = width_ch
        layers += [nn.ConvTranspose2d(in_ch, out_ch, kernel_size, padding=pad), make_activation(output_activation)]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        height, width = self.output_shape[1:]
        return self.net(z.flatten(1))[..., :height, :width]
