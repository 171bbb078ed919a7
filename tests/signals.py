"""A callback that stops its own training run with a real signal at a chosen step, as a cluster or Ctrl+C would."""

from __future__ import annotations

import os
import signal

import pytorch_lightning as pl


class SendSignalAt(pl.Callback):
    def __init__(self, step: int, signal_name: str = "SIGTERM") -> None:
        self.step = step
        self.signal = getattr(signal, signal_name)

    def on_train_batch_end(self, trainer: pl.Trainer, *args) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), self.signal)
