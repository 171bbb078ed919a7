"""Callbacks that stop their own training run with a real signal, as a cluster or Ctrl+C would.

Under DDP only rank 0 signals itself, as ``kill -TERM`` of the launching process would: Lightning's handler there
passes SIGTERM on to the other ranks (a rank signalled twice would wait on a second broadcast of it).
"""

from __future__ import annotations

import os
import signal
from typing import Any

import pytorch_lightning as pl


class SendSignalAt(pl.Callback):
    """Signals after the training batch that reaches global step ``step``."""

    def __init__(self, step: int, signal_name: str = "SIGTERM") -> None:
        self.step = step
        self.signal = getattr(signal, signal_name)

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        if trainer.global_step == self.step and trainer.is_global_zero:
            os.kill(os.getpid(), self.signal)


class SendSignalInValidation(pl.Callback):
    """Signals after batch ``batch`` of epoch ``epoch``'s validation, or of the sanity check with ``sanity``: a batch
    before the last, or Lightning only acts on the signal at its next training batch or epoch end."""

    def __init__(self, epoch: int, batch: int = 0, signal_name: str = "SIGTERM", sanity: bool = False) -> None:
        self.epoch = epoch
        self.batch = batch
        self.signal = getattr(signal, signal_name)
        self.sanity = sanity

    def on_validation_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        due = trainer.sanity_checking == self.sanity and trainer.current_epoch == self.epoch and batch_idx == self.batch
        if due and trainer.is_global_zero:
            os.kill(os.getpid(), self.signal)
