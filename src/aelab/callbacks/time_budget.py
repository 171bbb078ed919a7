"""A training budget in seconds (``budget=90``): the learning rate follows a schedule over the budget's seconds, not
over a count of epochs, and training stops when the budget is spent (the epoch ends there, is validated and the best
checkpoint is tested as in any run).

What a user of a reducer has is minutes, not epochs: an epoch schedule cut short by ``trainer.max_time`` ends with
the learning rate still high, where a schedule that knows the budget has decayed it by then. The clock starts with
training (after the data and the PCA yardstick are ready) and counts validation passes too.
"""

from __future__ import annotations

import math
import time

import pytorch_lightning as pl


class TimeBudget(pl.Callback):
    """Sets each optimizer group's learning rate to ``base * schedule(elapsed / seconds)`` before every training
    batch: a linear warm-up over the first ``warmup`` share of the budget, then a cosine decay to zero at its end,
    when training stops."""

    def __init__(self, seconds: float, warmup: float = 0.02) -> None:
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
            raise ValueError(f"budget={seconds!r}: a training budget is a number of seconds above 0, e.g. budget=90")
        if not 0 <= warmup < 1:
            raise ValueError(f"the budget's warm-up is a share of it in [0, 1); got {warmup!r}")
        self.seconds = float(seconds)
        self.warmup = warmup
        self.start: float | None = None
        self.base_lrs: list[list[float]] = []

    def fraction(self) -> float:
        """The share of the budget spent so far, in [0, 1]."""
        return 0.0 if self.start is None else min(1.0, (time.perf_counter() - self.start) / self.seconds)

    def factor(self, fraction: float) -> float:
        if fraction < self.warmup:
            return (fraction + 1e-3) / (self.warmup + 1e-3)
        return 0.5 * (1.0 + math.cos(math.pi * (fraction - self.warmup) / (1.0 - self.warmup)))

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.start = time.perf_counter()
        self.base_lrs = [[group["lr"] for group in opt.param_groups] for opt in trainer.optimizers]

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch, batch_idx: int) -> None:
        fraction = self.fraction()
        for optimizer, bases in zip(trainer.optimizers, self.base_lrs, strict=True):
            for group, base in zip(optimizer.param_groups, bases, strict=True):
                group["lr"] = base * self.factor(fraction)
        if fraction >= 1.0:
            trainer.should_stop = True  # Lightning ends the epoch here, validates it and keeps the best checkpoint
