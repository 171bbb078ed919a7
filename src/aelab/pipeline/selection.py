"""Selection that cannot end behind PCA: a PCA-anchored model is scored on validation before its first step (it *is*
clipped PCA-k then) and kept as a checkpoint; after training, the better of that start and the best epoch (by the
monitored validation loss) is what gets tested and reported.

A resumed run finds its start (``checkpoints/pca_start.json`` and ``.ckpt``) in the run folder of the checkpoint it
resumes from, so it selects as the run that never stopped would.
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
from aelab.checkpoints import run_dir_of
from aelab.files import write_text_atomic
from aelab.nets.anchored import is_anchored

START_NAME = "pca_start"


def start_paths(output_dir: Path) -> tuple[Path, Path]:
    folder = output_dir / "checkpoints"
    return folder / f"{START_NAME}.ckpt", folder / f"{START_NAME}.json"


def validate_at_start(
    trainer: pl.Trainer, model: pl.LightningModule, datamodule: Any, output_dir: Path, resumed_from: str | None
) -> dict[str, Any] | None:
    """For a PCA-anchored model on a fresh run: fit the run's PCA (the yardstick's one fit), set the anchor, score
    validation and save the start as ``checkpoints/pca_start.ckpt``. Returns the start's validation scores and its
    checkpoint (``{"scores": ..., "ckpt": ...}``; on a resumed run, those of the run it resumes), or None."""
    if not is_anchored(model):
        return None
    ckpt, record = start_paths(output_dir)
    if resumed_from:  # the start of the run resumed (passed on, so a resume of a resume finds it too)
        _, earlier = start_paths(run_dir_of(resumed_from))
        if not earlier.is_file():
            return None
        start = json.loads(earlier.read_text())
        if trainer.is_global_zero and earlier != record:
            record.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(record, json.dumps(start, indent=2, sort_keys=True))
        return start
    datamodule.prepare_data()
    datamodule.setup("fit")
    datamodule.setup("test")
    baseline = next(cb for cb in trainer.callbacks if isinstance(cb, PCABaseline))
    baseline.fit(datamodule, model, trainer if trainer.is_global_zero else None)
    (scores,) = trainer.validate(model, datamodule=datamodule, verbose=False)
    for metric in (m for m in model.modules() if isinstance(m, Metric)):
        metric.reset()  # validate ran in inference mode; training's validation must not update its tensors
    start = {"scores": {k: float(v) for k, v in scores.items()}, "ckpt": str(ckpt.resolve())}
    trainer.save_checkpoint(ckpt)
    if trainer.is_global_zero:
        write_text_atomic(record, json.dumps(start, indent=2, sort_keys=True))
    return start


def select(trainer: pl.Trainer, start: dict[str, Any] | None) -> tuple[str, dict[str, float]]:
    """The checkpoint to test ("" for the weights in memory) and figures on the choice: the best epoch by the
    monitored validation metric, or the PCA start when no epoch beat it (``selection/pca_start`` 1.0)."""
    callback: ModelCheckpoint | None = trainer.checkpoint_callback
    best = callback.best_model_path if callback else ""
    monitor = callback.monitor if callback else None
    if start is None or not monitor or monitor not in start["scores"]:
        return best, {}
    scores, score = start["scores"], callback.best_model_score
    best_score = float(score) if score is not None else math.inf
    figures = {f"selection/start_{k.replace('/', '_')}": v for k, v in scores.items() if k.startswith("val/")}
    if scores[monitor] <= best_score and Path(start["ckpt"]).is_file():
        return str(start["ckpt"]), figures | {"selection/pca_start": 1.0, "selection/best_over_start": 1.0}
    return best, figures | {"selection/pca_start": 0.0, "selection/best_over_start": best_score / scores[monitor]}
