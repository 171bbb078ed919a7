"""Contractive penalty (Rifai et al. 2011): the squared Frobenius norm of the encoder's Jacobian dz/dx.

Three ways to compute it, chosen by ``mode``:
- ``closed_form``: for a single sigmoid layer h = sigmoid(W x + b), ||J||_F^2 = sum_j (h_j (1 - h_j))^2 ||W_j||^2,
  one extra matrix product per step;
- ``exact``: the full per-image Jacobian with torch.func (vmap of jacrev), for any encoder; cost grows with the code
  size, so it suits small codes;
- ``projection``: an unbiased random-projection estimate E_v ||J^T v||^2 with v ~ N(0, I) over the code, one
  vector-Jacobian product per projection, for large codes and big encoders;
- ``auto``: closed_form when the encoder is one sigmoid layer, else exact up to ``max_exact_dim`` code units, else
  projection.
Each is differentiable in the encoder's parameters, so the penalty trains the encoder.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from aelab.models.penalties.base import Penalty, StepOutputs

MODES = ("auto", "closed_form", "exact", "projection")


def single_sigmoid_layer(encoder: nn.Module) -> nn.Linear | None:
    """The Linear layer of an encoder that is exactly Linear -> Sigmoid (an MLPEncoder with no hidden layer)."""
    layers = list(getattr(encoder, "net", []))
    if len(layers) == 2 and isinstance(layers[0], nn.Linear) and isinstance(layers[1], nn.Sigmoid):
        return layers[0]
    return None


def closed_form_frobenius(linear: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """Per-image ||J||_F^2 of sigmoid(linear(x.flatten(1)))."""
    h = torch.sigmoid(linear(x.flatten(1)))
    return (h * (1 - h)).pow(2) @ linear.weight.pow(2).sum(1)


def exact_frobenius(encoder: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Per-image ||J||_F^2 from the full Jacobian of each image (torch.func)."""

    def code_of_one(image: torch.Tensor) -> torch.Tensor:
        return encoder(image.unsqueeze(0)).flatten()

    jacobians = torch.func.vmap(torch.func.jacrev(code_of_one))(x)  # (B, D, *image shape)
    return jacobians.flatten(1).pow(2).sum(1)


def projected_frobenius(encoder: nn.Module, x: torch.Tensor, num_projections: int) -> torch.Tensor:
    """Per-image unbiased estimate of ||J||_F^2: the mean of ||J^T v||^2 over Gaussian v in code space."""
    x = x.detach().requires_grad_(True)
    z = encoder(x).flatten(1)
    total = torch.zeros(x.shape[0], device=x.device, dtype=z.dtype)
    for _ in range(num_projections):
        v = torch.randn_like(z)
        (vjp,) = torch.autograd.grad(z, x, grad_outputs=v, create_graph=True)
        total = total + vjp.flatten(1).pow(2).sum(1)
    return total / num_projections


@contextlib.contextmanager
def gradients_enabled() -> Iterator[None]:
    """Validation runs under inference mode; the Jacobian needs autograd there too."""
    with torch.inference_mode(False), torch.enable_grad():
        yield


class Contractive(Penalty):
    """weight (lambda) * mean over the batch of ||dz/dx||_F^2."""

    name = "contractive"

    def __init__(
        self, weight: float = 1e-4, mode: str = "auto", max_exact_dim: int = 64, num_projections: int = 1
    ) -> None:
        super().__init__(weight)
        if mode not in MODES:
            raise ValueError(f"Contractive: unknown mode {mode!r}; choose one of {list(MODES)}")
        if num_projections < 1:
            raise ValueError(f"Contractive: num_projections must be >= 1, got {num_projections}")
        self.mode = mode
        self.max_exact_dim = int(max_exact_dim)
        self.num_projections = int(num_projections)
        self.resolved_mode = mode

    def bind(self, model: nn.Module) -> None:
        sigmoid_layer = single_sigmoid_layer(model.encoder)
        if self.mode == "closed_form" and sigmoid_layer is None:
            raise ValueError(
                "penalty contractive: the closed form needs an encoder that is a single sigmoid layer "
                "(model=dense with model.encoder.hidden_dims=[] model.encoder.latent_activation=sigmoid), but this "
                f"encoder is {type(model.encoder).__name__} with other layers. Use "
                "model.penalties.contractive.mode=exact (small codes) or projection (any size)."
            )
        if self.mode == "auto":
            if sigmoid_layer is not None:
                self.resolved_mode = "closed_form"
            else:
                self.resolved_mode = "exact" if model.latent_dim <= self.max_exact_dim else "projection"

    def per_image(self, encoder: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """||dz/dx||_F^2 of each image, by the resolved mode (an unbound ``auto`` computes it exactly)."""
        if self.resolved_mode == "closed_form":
            linear = single_sigmoid_layer(encoder)
            if linear is None:
                raise ValueError("penalty contractive: closed_form needs an encoder that is a single sigmoid layer")
            return closed_form_frobenius(linear, x)
        with gradients_enabled():
            x = x.clone()  # a normal tensor even when x was made under inference mode
            if self.resolved_mode == "projection":
                return projected_frobenius(encoder, x, self.num_projections)
            return exact_frobenius(encoder, x)

    def term(self, out: StepOutputs) -> torch.Tensor:
        return self.per_image(out.encoder, out.x_in).mean()
