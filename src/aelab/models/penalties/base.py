"""The seam for regularisers: a penalty sees one step's tensors and returns one scalar term.

The AutoEncoder adds ``weight * term`` to the reconstruction loss and logs each term under ``train/<name>``.
A penalty may also ``bind`` to the model once it is built, to check that the model has what it needs (a code
size, a sigmoid code layer, the parameters it names) and fail before training rather than in it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from aelab.build import build


@dataclass
class StepOutputs:
    """What one forward pass produced, handed to every penalty."""

    x: torch.Tensor  # clean input, float in [0, 1], (B, C, H, W)
    x_in: torch.Tensor  # what the encoder saw (the corrupted input for a denoising AE)
    z: torch.Tensor  # the code as the decoder received it (after a code transform such as k-sparse)
    x_hat: torch.Tensor  # the reconstruction
    encoder: nn.Module
    decoder: nn.Module


def check_weight(owner: str, weight: float) -> float:
    if weight < 0:
        raise ValueError(f"{owner}: weight must be >= 0, got {weight}; a negative weight would reward the penalty")
    return float(weight)


class Penalty(nn.Module):
    """Base class: subclasses set ``name`` and implement ``term``; ``weight`` scales the term in the loss."""

    name: str = "penalty"

    def __init__(self, weight: float) -> None:
        super().__init__()
        self.weight = check_weight(type(self).__name__, weight)

    def bind(self, model: nn.Module) -> None:
        """Called once by the AutoEncoder after it is built; raise a ValueError if the model cannot carry this."""

    def term(self, out: StepOutputs) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, out: StepOutputs) -> torch.Tensor:
        return self.term(out)


def build_penalties(penalties: Mapping[str, Any] | Sequence[Mapping[str, Any] | nn.Module]) -> nn.ModuleDict:
    """Penalties by log name. A mapping (as the ``penalty=`` config group writes it) names them by key and skips
    entries set to null; a list names them by each penalty's ``name``."""
    if isinstance(penalties, Mapping):
        named = {key: build(spec) for key, spec in penalties.items() if spec is not None}
    else:
        built = [build(spec) for spec in penalties]
        named = {p.name: p for p in built}
        if len(named) != len(built):
            raise ValueError(f"two penalties share a name: {[p.name for p in built]}; give them as a mapping")
    for key, penalty in named.items():
        if not isinstance(penalty, Penalty):
            raise ValueError(f"penalty {key!r} is a {type(penalty).__name__}, not an aelab Penalty")
    return nn.ModuleDict(named)
