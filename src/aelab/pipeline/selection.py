"""Selection that cannot end behind PCA: a PCA-anchored model is scored on validation before its first step (it *is*
clipped PCA-k then) and kept as a checkpoint; after training, the better of that start and the best epoch (by the
monitored validation loss) is what gets tested and reported.

A resumed run finds its start's scores in ``checkpoints/pca_start.json``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint
from torchmetrics import Metric

from aelab.callbacks.pca_baseline import PCABaseline
from aelab.files import write_text_atomic
from aelab.nets.anchored import is_anchored

START_NAME = "pca_start"


def start_paths(output_dir: Path) -> tuple[Path, Path]:
    folder = output_dir / "checkpoints"
    return folder / f"{START_NAME}.ckpt", folder / f"{START_NAME}.json"


def validate_at_start(
    trainer: pl.Trainer, model: pl.LightningModule, datamodule: Any, output_dir: Path, resuming: bool
) -> dict[str, float] | None:
    """For a PCA-anchored model on a fresh run: fit the run's PCA (the yardstick's one fit), set the anchor, score
    validation and save the start as ``checkpoints/pca_start.ckpt``; its scores (also on a resumed run), or None."""
    ckpt, record = start_paths(output_dir)
    if not is_anchored(model):
        return None
    if resuming:
        return json.loads(record.read_text()) if record.is_file() else None
    datamodule.prepare_data()
    datamodule.setup("fit")
    datamodule.setup("test")
    baseline = next(cb for cb in trainer.callbacks if isinstance(cb, PCABaseline))
    baseline.fit(datamodule, model, trainer if trainer.is_global_zero else None)
    (scores,) = trainer.validate(model, datamodule=datamodule, verbose=False)
    for metric in (m for m in model.modules() if isinstance(m, Metric)):
        metric.reset()  # validate ran in inference mode; training's validation must not update its tensors
    scores = {k: float(v) for k, v in scores.items()}
    trainer.save_checkpoint(ckpt)
    if trainer.is_global_zero:
        write_text_atomic(record, json.dumps(scores, indent=2, sort_keys=True))
    return scores


def select(trainer: pl.Trainer, start: dict[str, float] | None, output_dir: Path) -> tuple[str, dict[str, float]]:
    """The checkpoint to test ("" for the weights in memory) and figures on the choice: the best epoch by the
    monitored validation metric, or the PCA start when no epoch beat it (``selection/pca_start`` 1.0)."""
    callback: ModelCheckpoint | None = trainer.checkpoint_callback
    best = callback.best_model_path if callback else ""
    monitor = callback.monitor if callback else None
    if start is None or not monitor or monitor not in start:
        return best, {}
    score = callback.best_model_score
    best_score = float(score) if score is not None else math.inf
    ckpt, _ = start_paths(output_dir)
    figures = {f"selection/start_{k.replace('/', '_')}": v for k, v in start.items() if k.startswith("val/")}
    if start[monitor] <= best_score and ckpt.is_file():
        return str(ckpt), figures | {"selection/pca_start": 1.0, "selection/best_over_start": 1.0}
    return best, figures | {"selection/pca_start": 0.0, "selection/best_over_start": best_score / start[monitor]}
