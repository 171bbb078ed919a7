"""Seconds per epoch (training plus validation), wall-clock and CPU, logged and written to epoch_times.json.

Read by benchmarks (quality.py, cpu_precision.py, small_folder.py) and the report's fit times, and handy on its own.
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
        self.cpu_seconds: list[float] = []  # CPU time of this process (all its threads): less noisy on shared machines
        self.ended_at: list[float] = []  # Unix time at each epoch's end: benchmarks put epochs on a wall clock
        self._start = self._cpu_start = 0.0

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.on_train_epoch_start(trainer, pl_module)  # a run resumed mid-epoch starts without on_train_epoch_start

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start, self._cpu_start = time.perf_counter(), time.process_time()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # validation runs inside the training epoch in Lightning 2, so this span covers both
        seconds = time.perf_counter() - self._start
        self.seconds.append(seconds)
        self.cpu_seconds.append(time.process_time() - self._cpu_start)
        self.ended_at.append(time.time())
        pl_module.log("time/epoch_s", seconds, rank_zero_only=True)
        if self.output_path is not None and trainer.is_global_zero:
            self.output_path.parent.mkdir(parents=True, exist_ok=True)
            self.output_path.write_text(
                json.dumps(
                    {
                        "epoch_seconds": self.seconds,
                        "epoch_cpu_seconds": self.cpu_seconds,
                        "epoch_ended_at": self.ended_at,
                    },
                    indent=2,
                )
            )
