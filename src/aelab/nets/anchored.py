"""An autoencoder that starts where PCA ends: the code is PCA's projection plus a learned correction, the image is
PCA's (clipped) reconstruction plus a learned correction, and both corrections start at exactly zero.

Any encoder/decoder pair is wrapped as it is: the last weighted layer of each net starts at zero (weights and bias), so
its output is one constant for every input; the correction is the net's output minus that constant (a buffer), zero
for every input before the first step, when the model *is* PCA-k. The zeroed layer gets a gradient at once and the
layers below it from the second step on, as zero-initialised residual branches do, and no parameter is added.
PCA lives in buffers (the mean and the components, shared by both halves): a checkpoint, the reducer, the
encode/decode CLIs and the ONNX export need nothing new. The run sets them from the PCA it fits for its yardstick.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from aelab.nets.modes import eval_mode


class PCAAnchor(nn.Module):
    """PCA-k of flattened images as buffers: ``mean`` (D,) and ``components`` (D, k), orthonormal columns."""

    def __init__(self, features: int, latent_dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(features))
        self.register_buffer("components", torch.zeros(features, latent_dim))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    @torch.no_grad()
    def set(self, mean: torch.Tensor, components: torch.Tensor) -> None:
        """PCA's mean and components; fewer components than k (PCA fit on fewer images than k) leave the rest 0."""
        self.mean.copy_(mean.reshape(-1))
        self.components.zero_()
        self.components[:, : components.shape[1]] = components
        self.fitted.fill_(True)

    def project(self, x: torch.Tensor) -> torch.Tensor:
        return (x.flatten(1) - self.mean) @ self.components

    def reconstruct(self, z: torch.Tensor) -> torch.Tensor:
        return z.flatten(1) @ self.components.T + self.mean


def last_weighted_layer(net: nn.Module) -> nn.Module | None:
    """The last linear or convolution layer the net registers (its output layer in every aelab net)."""
    layers = [m for m in net.modules() if isinstance(m, nn.Linear | nn.modules.conv._ConvNd)]
    return layers[-1] if layers else None


class Correction(nn.Module):
    """A net whose output layer starts at zero, minus the constant it then gives: exactly zero before training."""

    def __init__(self, net: nn.Module, input_shape: Sequence[int]) -> None:
        super().__init__()
        self.net = net
        layer = last_weighted_layer(net)
        if layer is None:
            raise ValueError(f"model.anchor=pca: {type(net).__name__} has no linear or conv layer to start at zero")
        with torch.no_grad():
            layer.weight.zero_()
            if layer.bias is not None:
                layer.bias.zero_()
        with eval_mode(net), torch.no_grad():
            probe = net(torch.randn(2, *input_shape))
        if not torch.allclose(probe[0], probe[1]):
            raise ValueError(
                f"model.anchor=pca: {type(net).__name__}'s last registered layer is not its output layer, so zeroing "
                "it does not make the net's output constant; this net cannot be anchored (set model.anchor=null)."
            )
        self.register_buffer("offset", probe[0].clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x) - self.offset


class AnchoredEncoder(nn.Module):
    """x -> PCA's code + a correction that starts at exactly zero."""

    def __init__(self, net: nn.Module, anchor: PCAAnchor, input_shape: Sequence[int]) -> None:
        super().__init__()
        self.anchor = anchor
        self.correction = Correction(net, input_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        correction = self.correction(x)
        return self.anchor.project(x).view_as(correction) + correction


class AnchoredDecoder(nn.Module):
    """z -> PCA's reconstruction (clipped to [0, 1] when ``clip``) + a correction that starts at exactly zero; with
    ``clip`` the sum is clamped to [0, 1] as the net's sigmoid kept it, and a sigmoid net's correction (its output
    minus 0.5) is doubled so it can reach either end from the middle."""

    def __init__(self, net: nn.Module, anchor: PCAAnchor, code_shape: Sequence[int], image_shape: Sequence[int],
                 clip: bool) -> None:  # fmt: skip
        super().__init__()
        self.anchor = anchor
        self.correction = Correction(net, code_shape)
        self.image_shape = tuple(image_shape)
        self.clip = clip

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        base = self.anchor.reconstruct(z).view(-1, *self.image_shape)
        if self.clip:
            return (base.clamp(0, 1) + 2 * self.correction(z)).clamp(0, 1)
        return base + self.correction(z)


def ends_in_sigmoid(net: nn.Module) -> bool:
    """Whether the net's last layer is a sigmoid: its images lie in [0, 1], so PCA's are clipped to match."""
    leaves = [m for m in net.modules() if next(m.children(), None) is None]
    return bool(leaves) and isinstance(leaves[-1], nn.Sigmoid)


def anchor_pair(encoder: nn.Module, decoder: nn.Module, input_shape: Sequence[int]) -> tuple[nn.Module, nn.Module]:
    """The pair wrapped around one PCA anchor of the code size the encoder gives (its buffers still zero)."""
    with eval_mode(encoder):
        code_shape = tuple(encoder(torch.zeros(2, *input_shape)).shape[1:])
    anchor = PCAAnchor(math.prod(input_shape), math.prod(code_shape))
    clip = ends_in_sigmoid(decoder)
    return AnchoredEncoder(encoder, anchor, input_shape), AnchoredDecoder(
        decoder, anchor, code_shape, input_shape, clip
    )


def anchored(
    encoder: nn.Module, decoder: nn.Module, input_shape: Sequence[int], anchor: str | None
) -> tuple[nn.Module, nn.Module]:
    """``model.anchor``: None keeps the pair as it is; "pca" wraps it (``anchor_pair``)."""
    if anchor is None:
        return encoder, decoder
    if anchor != "pca":
        raise ValueError(f"model.anchor must be pca or null; got {anchor!r}")
    with eval_mode(encoder):
        probe = encoder(torch.zeros(2, *input_shape))
    if not isinstance(probe, torch.Tensor):
        raise ValueError(
            "model.anchor=pca starts a deterministic autoencoder at PCA; this encoder gives a distribution (a VAE), "
            "whose prior pulls the codes away from PCA's scale. Set model.anchor=null."
        )
    return anchor_pair(encoder, decoder, input_shape)


def set_anchor(model: nn.Module, mean: torch.Tensor, components: torch.Tensor) -> bool:
    """Point every PCA anchor in ``model`` at this PCA, unless it already holds one (a resumed run keeps its own);
    whether one was set."""
    anchors = [m for m in model.modules() if isinstance(m, PCAAnchor) and not bool(m.fitted)]
    for anchor in anchors:
        anchor.set(mean.to(anchor.mean), components.to(anchor.components))
    return bool(anchors)


def is_anchored(model: nn.Module) -> bool:
    return any(isinstance(m, PCAAnchor) for m in model.modules())
