"""When a callback that logs panels or scores runs, and how it stays out of training's random numbers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
from pytorch_lightning.utilities.seed import isolate_rng

from aelab.models.stepping import is_due

__all__ = ["is_due", "keeps_rng"]


def keeps_rng(hook: Callable[..., Any]) -> Callable[..., Any]:
    """Run a callback hook without drawing from the random streams training uses (python, numpy, torch, CUDA):
    switching a panel or probe on or off, or its every_n_epochs, never changes what the model trains on, and a
    resumed run repeats the one that never stopped."""

    @functools.wraps(hook)
    def isolated(*args: Any, **kwargs: Any) -> Any:
        with isolate_rng(include_cuda=torch.cuda.is_available()):
            return hook(*args, **kwargs)

    return isolated
