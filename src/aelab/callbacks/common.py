"""Helpers shared by the callbacks: deciding when to run, and running the model without gradients."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytorch_lightning as pl
import torch


def is_due(trainer: pl.Trainer, every_n_epochs: int) -> bool:
    """True on every n-th epoch and on the last one; never during the sanity check."""
    if trainer.sanity_checking or every_n_epochs <= 0:
        return False
    epoch = trainer.current_epoch + 1
    last = trainer.max_epochs is not None and epoch >= trainer.max_epochs
    return epoch % every_n_epochs == 0 or last or bool(trainer.fast_dev_run)


@contextmanager
def eval_mode(module: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Evaluation mode without gradients for the body, then the module's previous mode again."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            yield module
    finally:
        module.train(was_training)
