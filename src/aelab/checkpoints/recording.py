"""What a checkpoint records beyond the weights, so that evaluating or resuming it repeats what training did.

``ConfigInCheckpoint`` stores the resolved run config (evaluate.py rebuilds the same data from it), the W&B run id
(a resumed run continues the same W&B run) and the data module's split record (which files each split held).
``ResumeState`` stores the random number generators and, on resume, restores them and the epoch's shuffle, so a run
stopped and resumed trains on the same batches with the same noise as one that never stopped.
``InterruptCheckpoint`` saves a resumable checkpoint when SIGTERM (clusters, SLURM) or Ctrl+C stops training.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import WandbLogger
from pytorch_lightning.trainer.states import TrainerFn
from pytorch_lightning.utilities.exceptions import SIGTERMException

from aelab.checkpoints.keys import CONFIG_KEY, DATA_RECORD_KEY, PREPROCESSING_KEY, WANDB_RUN_KEY

log = logging.getLogger(__name__)

INTERRUPTED_NAME = "interrupted.ckpt"


class ConfigInCheckpoint(pl.Callback):
    """Stores the resolved run config, the W&B run id and the data split record in every checkpoint."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        checkpoint[CONFIG_KEY] = self.config
        record = getattr(trainer.datamodule, "split_record", None)
        if callable(record):
            checkpoint[DATA_RECORD_KEY] = record()
        preprocessing = getattr(trainer.datamodule, "preprocessing", None)
        if callable(preprocessing):
            checkpoint[PREPROCESSING_KEY] = preprocessing().as_dict()
        wandb_logger = next((lg for lg in trainer.loggers if isinstance(lg, WandbLogger)), None)
        if wandb_logger is not None and trainer.is_global_zero:
            checkpoint[WANDB_RUN_KEY] = wandb_logger.version


def rng_states() -> dict[str, Any]:
    """Every generator training draws from, as plain values and tensors (loadable with ``weights_only``)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    states: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": [kind, keys.tolist(), pos, has_gauss, gauss],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available() and len(states["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(states["cuda"])


class ResumeState(pl.Callback):
    """RNG states and the shuffle seed in every checkpoint; restored when training (re)starts from one.

    Restoring happens at ``on_train_start``, after the sanity check and before the first batch, which is where the
    run that never stopped stood when it saved. A checkpoint written mid-epoch (by ``InterruptCheckpoint``) also
    makes the training sampler skip the batches that epoch had already trained on.
    """

    def __init__(self) -> None:
        self._restored: dict[str, Any] | None = None

    def state_dict(self) -> dict[str, Any]:
        sampler = _train_sampler(self._trainer) if hasattr(self, "_trainer") else None
        return {"rng": rng_states(), "shuffle_seed": getattr(sampler, "seed", None)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._restored = state_dict

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._trainer = trainer

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._restored is None:
            return
        state, self._restored = self._restored, None
        set_rng_states(state["rng"])
        sampler = _train_sampler(trainer)
        if sampler is None:
            return
        if state.get("shuffle_seed") is not None:
            sampler.seed = state["shuffle_seed"]
        done = trainer.fit_loop.epoch_loop.batch_progress.current.completed
        if trainer.fit_loop.restarted_mid_epoch and 0 < done < trainer.num_training_batches:
            sampler.skip_next(done * trainer.train_dataloader.batch_size)


def _train_sampler(trainer: pl.Trainer) -> Any:
    """The training loader's sampler when it is aelab's ``EpochShuffle`` (under DDP Lightning swaps in its own)."""
    loader = getattr(trainer, "train_dataloader", None)
    sampler = getattr(loader, "sampler", None)
    return sampler if hasattr(sampler, "skip_next") else None


class InterruptCheckpoint(pl.Callback):
    """On SIGTERM or Ctrl+C, save ``<dirpath>/interrupted.ckpt`` so the run can resume where it stopped."""

    def __init__(self, dirpath: str | Path) -> None:
        self.dirpath = Path(dirpath)
        self.saved: Path | None = None
        self.signal_name: str | None = None

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        if isinstance(exception, SIGTERMException):
            self.signal_name = "SIGTERM"
        elif isinstance(exception, KeyboardInterrupt):
            self.signal_name = "SIGINT (Ctrl+C)"
        else:
            return
        if trainer.state.fn != TrainerFn.FITTING or trainer.global_step == 0:
            return  # stopped before any training step, or while testing: nothing new to keep
        path = self.dirpath / INTERRUPTED_NAME
        trainer.save_checkpoint(path)
        self.saved = path
