"""When a callback that logs panels or scores runs."""

from __future__ import annotations

import pytorch_lightning as pl


def is_due(trainer: pl.Trainer, every_n_epochs: int) -> bool:
    """True on every n-th epoch and on the last one; never during the sanity check."""
    if trainer.sanity_checking or every_n_epochs <= 0:
        return False
    epoch = trainer.current_epoch + 1
    last = trainer.max_epochs is not None and epoch >= trainer.max_epochs
    return epoch % every_n_epochs == 0 or last or bool(trainer.fast_dev_run)
