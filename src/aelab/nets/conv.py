"""Convolutional encoder (conv + pool blocks) and decoder (conv + upsample blocks), as in seed 000.

The encoder's code is its last feature map (e.g. 4x4x4 for the 1,185-parameter seed net); the LightningModule
flattens it when codes are compared with PCA or fed to probes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from aelab.nets.activations import make_activation


def _padding(value: str | int) -> str | int:
    if value in ("same", "valid") or isinstance(value, int):
        return 0 if value == "valid" else value
    raise ValueError(f"conv padding must be 'same', 'valid' or an int, got {value!r}")


class ConvEncoder(nn.Module):
    """Blocks of (3x3 same conv, activation, 2x2 max-pool); pooling rounds up odd sizes like Keras' 'same'."""

    def __init__(
        self,
        input_shape: Sequence[int],
        channels: Sequence[int],
        kernel_size: int = 3,
        activation: str | None = "relu",
    ) -> None:
        super().__init__()
        if not channels:
            raise ValueError("ConvEncoder needs at least one entry in channels")
        self.input_shape = tuple(input_shape)
        layers: list[nn.Module] = []
        in_channels = self.input_shape[0]
        for out_channels in channels:
            layers += [
                nn.Conv2d(in_channels, out_channels, kernel_size, padding="same"),
                make_activation(activation),
                nn.MaxPool2d(2, ceil_mode=True),
            ]
            in_channels = out_channels
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ConvDecoder(nn.Module):
    """Blocks of (conv, activation, 2x upsample), then a same conv to the image channels.

    ``paddings`` gives each block's conv padding ('same' or 'valid'); seed 000 uses one 'valid' conv to go
    from 16x16 to 14x14 so that the last upsampling lands on 28x28.
    """

    def __init__(
        self,
        in_channels: int,
        channels: Sequence[int],
        out_channels: int,
        paddings: Sequence[str | int] | None = None,
        kernel_size: int = 3,
        activation: str | None = "relu",
        output_activation: str | None = "sigmoid",
    ) -> None:
        super().__init__()
        paddings = list(paddings) if paddings is not None else ["same"] * len(channels)
        if len(paddings) != len(channels):
            raise ValueError(f"ConvDecoder: {len(channels)} channels but {len(paddings)} paddings; give one per block")
        layers: list[nn.Module] = []
        for width, padding in zip(channels, paddings):
            layers += [
                nn.Conv2d(in_channels, width, kernel_size, padding=_padding(padding)),
                make_activation(activation),
                nn.Upsample(scale_factor=2, mode="nearest"),
            ]
            in_channels = width
        layers += [
            nn.Conv2d(in_channels, out_channels, kernel_size, padding="same"),
            make_activation(output_activation),
        ]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)
