"""Weight initialisations by the names Keras uses, so seed architectures start where the seeds started."""

from __future__ import annotations

import math

from torch import nn

# Keras draws LeCun normal from a normal truncated at two standard deviations, rescaled by this factor so the
# truncated distribution keeps the intended variance 1 / fan_in.
_TRUNCATION_CORRECTION = 0.87962566103423978


def lecun_normal_(module: nn.Module) -> None:
    """LeCun normal weights (variance 1/fan_in, the init SELU's self-normalisation assumes) and zero biases."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.Linear | nn.ConvTranspose2d):
            # Conv2d/Linear weights are (out, in, ...): fan-in is one output's slice; ConvTranspose2d's are (in, out, ...)
            fan_in = layer.weight[:, 0].numel() if isinstance(layer, nn.ConvTranspose2d) else layer.weight[0].numel()
            std = math.sqrt(1.0 / fan_in) / _TRUNCATION_CORRECTION
            nn.init.trunc_normal_(layer.weight, std=std, a=-2 * std, b=2 * std)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


INITS = {"lecun_normal": lecun_normal_, "default": lambda module: None}


def apply_init(module: nn.Module, name: str) -> None:
    try:
        INITS[name](module)
    except KeyError:
        raise ValueError(f"unknown init {name!r}; choose one of {sorted(INITS)}") from None
