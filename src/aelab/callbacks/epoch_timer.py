"""Wall-clock seconds per epoch (training plus validation), logged and written to epoch_times.json.

Used by benchmarks/speed_dense.py to compare train.py with a plain PyTorch loop, and handy on its own.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytorch_lightning as pl


class EpochTimer(pl.Callback):
    def __init__(self, output_path: str | None = None) -> None:
        self.output_path = Path(output_path) if output_path else None
        self.seconds: list[float] = []
        self._start = 0.0

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # validation runs inside the training epoch in Lightning 2, so this span covers both
        seconds = time.perf_counter() - self._start
        self.seconds.append(seconds)
        pl_module.log("time/epoch_s", seconds, rank_zero_only=True)
        if self.output_path is not None and trainer.is_global_zero:
            self.output_path.parent.mkdir(parents=True, exist_ok=True)
            self.output_path.write_text(json.dumps({"epoch_seconds": self.seconds}, indent=2))
