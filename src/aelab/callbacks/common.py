"""When a callback that logs panels or scores runs, and how it stays out of training's random numbers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities.seed import isolate_rng


def is_due(trainer: pl.Trainer, every_n_epochs: int) -> bool:
    """True on every n-th epoch and on the last one; never during the sanity check."""
    if trainer.sanity_checking or every_n_epochs <= 0:
        return False
    epoch = trainer.current_epoch + 1
    last = trainer.max_epochs is not None and epoch >= trainer.max_epochs
    return epoch % every_n_epochs == 0 or last or bool(trainer.fast_dev_run)


def keeps_rng(hook: Callable[..., Any]) -> Callable[..., Any]:
    """Run a callback hook without drawing from the random streams training uses (python, numpy, torch, CUDA):
    switching a panel or probe on or off, or its every_n_epochs, never changes what the model trains on, and a
    resumed run repeats the one that never stopped."""

    @functools.wraps(hook)
    def isolated(*args: Any, **kwargs: Any) -> Any:
        with isolate_rng(include_cuda=torch.cuda.is_available()):
            return hook(*args, **kwargs)

    return isolated
