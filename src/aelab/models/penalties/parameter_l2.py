"""L2 on named parameters (seed 003's ``kernel_regularizer=l2(0.01)`` on the code layer), not global weight decay.

Parameters are named as in ``model.named_parameters()`` (e.g. ``encoder.net.2.weight``) and may be glob
patterns (``encoder.*.weight``); the alias ``code_layer`` means the weight of the encoder's last Linear or conv layer.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

import torch
from torch import nn

from aelab.models.penalties.base import Penalty, StepOutputs

CODE_LAYER = "code_layer"


def code_layer_weight_name(encoder: nn.Module) -> str:
    """``encoder.<path>.weight`` of the encoder's last Linear/Conv layer: the layer that writes the code."""
    names = [name for name, m in encoder.named_modules() if isinstance(m, nn.Linear | nn.Conv2d | nn.ConvTranspose2d)]
    if not names:
        raise ValueError(f"penalty l2: the encoder {type(encoder).__name__} has no Linear or conv layer to regularise")
    return f"encoder.{names[-1]}.weight"


class ParameterL2(Penalty):
    """weight * sum of squares of the named parameters (Keras l2(w) = w * sum(W^2))."""

    name = "l2"

    def __init__(self, weight: float = 0.01, params: Sequence[str] = (CODE_LAYER,)) -> None:
        super().__init__(weight)
        if not params:
            raise ValueError("penalty l2: params is empty; name the parameters to regularise, e.g. [code_layer]")
        self.patterns = list(params)
        self.param_names: list[str] = []
        self._params: tuple[nn.Parameter, ...] = ()  # a tuple, so they are not registered twice

    def bind(self, model: nn.Module) -> None:
        named = {
            name: p
            for name, p in model.named_parameters()
            if name.startswith(("encoder.", "decoder."))  # the penalty's own tensors are not candidates
        }
        chosen: list[str] = []
        for pattern in self.patterns:
            pattern = code_layer_weight_name(model.encoder) if pattern == CODE_LAYER else pattern
            matches = [name for name in named if fnmatch.fnmatchcase(name, pattern)]
            if not matches:
                raise ValueError(
                    f"penalty l2: no parameter matches {pattern!r}. Parameters of this model: {sorted(named)}"
                )
            chosen += [m for m in matches if m not in chosen]
        self.param_names = chosen
        self._params = tuple(named[name] for name in chosen)

    def term(self, out: StepOutputs) -> torch.Tensor:
        if not self._params:
            raise ValueError("penalty l2 is not bound to a model; the AutoEncoder binds it when it is built")
        return sum(p.pow(2).sum() for p in self._params)
