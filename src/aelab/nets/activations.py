"""Activation functions by the names used in the configs."""

from __future__ import annotations

from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "selu": nn.SELU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "leaky_relu": nn.LeakyReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
}


def make_activation(name: str | None) -> nn.Module:
    """The activation called ``name``; ``None`` or ``"identity"`` means none (a linear layer)."""
    if name is None:
        return nn.Identity()
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)} or null") from None


def check_latent_dim(latent_dim: int) -> int:
    if not isinstance(latent_dim, int) or isinstance(latent_dim, bool) or latent_dim <= 0:
        raise ValueError(
            f"latent_dim must be a positive integer (the code size), got {latent_dim!r}; set e.g. model.latent_dim=20"
        )
    return latent_dim
