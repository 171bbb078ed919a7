"""What a checkpoint records beyond the weights, so that evaluating or resuming it repeats what training did.

``ConfigInCheckpoint`` stores the resolved run config (evaluate.py rebuilds the same data from it), the W&B run id
(a resumed run continues the same W&B run) and the data module's split record (which files each split held).
``ResumeState`` stores the random number generators and, on resume, restores them and the epoch's shuffle, so a run
stopped and resumed trains on the same batches with the same noise as one that never stopped; one stopped during
validation validates that epoch again, from where the pass started.
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
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.loggers import WandbLogger
from pytorch_lightning.trainer.states import TrainerFn
from pytorch_lightning.utilities.exceptions import SIGTERMException

from aelab.checkpoints.keys import CONFIG_KEY, DATA_RECORD_KEY, PREPROCESSING_KEY, WANDB_RUN_KEY

log = logging.getLogger(__name__)

INTERRUPTED_NAME = "interrupted.ckpt"
RERUN_KEY = "rerun_validation"  # ResumeState's mark: saved during validation, which the resumed run runs again
VAL_PROGRESS = "epoch_loop.val_loop.batch_progress"  # the val loop's counters in a checkpoint's fit-loop state


class ConfigInCheckpoint(pl.Callback):
    """Stores the resolved run config, the W&B run id and the data split record in every checkpoint."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def on_save_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
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

    A checkpoint written during a validation pass resumes by running that whole pass again, from the RNG states it
    started with: Lightning would take it for one saved after validation (the epoch's training batches are all done)
    and skip the pass, leaving early stopping, ModelCheckpoint and plateau schedulers without this epoch's val
    metrics (``RuntimeError: Early stopping conditioned on metric 'val/loss' which is not available``).
    """

    def __init__(self) -> None:
        self._restored: dict[str, Any] | None = None
        self._validation_rng: dict[str, Any] | None = None  # RNG states at the start of the pass under way
        self._rerun = False  # this resumed run owes the validation pass its checkpoint was stopped in

    def state_dict(self) -> dict[str, Any]:
        if self._restored is not None:
            return self._restored  # saved before this resumed run got to apply it: still the checkpoint's own
        sampler = _train_sampler(self._trainer) if hasattr(self, "_trainer") else None
        during = self._validation_rng is not None
        rng = self._validation_rng if during else rng_states()
        return {"rng": rng, "shuffle_seed": getattr(sampler, "seed", None), RERUN_KEY: during}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._restored = state_dict

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._trainer = trainer

    def on_save_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        if self._validation_rng is not None and "loops" in checkpoint:
            mark_validation_unfinished(checkpoint["loops"]["fit_loop"])

    def on_load_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        """Runs before Lightning restores the loops and the other callbacks from ``checkpoint``.

        A resumed run writes to a new run folder, and ModelCheckpoint reloads its best score so far only into the
        folder it was saved from: elsewhere it would take the next epoch for the best, worse or not. It keeps it
        here, and the earlier run's files too (it removes only checkpoints inside its own folder). A checkpoint that
        an earlier aelab wrote during validation gets the mark of one, so that it resumes, if not with the same noise.
        """
        if trainer.state.fn != TrainerFn.FITTING:
            return
        states = checkpoint.get("callbacks", {})
        for callback in trainer.checkpoint_callbacks:
            saved = states.get(callback.state_key)
            if isinstance(callback, ModelCheckpoint) and saved and callback.dirpath:
                saved["dirpath"] = callback.dirpath
        state = states.get(self.state_key, {})
        fit_loop = checkpoint.get("loops", {}).get("fit_loop")
        self._rerun = bool(state.get(RERUN_KEY))
        if fit_loop is not None and RERUN_KEY not in state and _stopped_mid_validation(fit_loop):
            log.warning(
                "This checkpoint was saved during validation by an earlier version of aelab: the resumed run "
                "validates that epoch again, but with other noise draws than a run that never stopped, so its "
                "metrics will differ slightly from such a run's."
            )
            mark_validation_unfinished(fit_loop)
            self._rerun = True

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._restored is None:
            return
        state, self._restored = self._restored, None
        set_rng_states(state["rng"])
        if self._rerun and state.get(RERUN_KEY):
            self._validation_rng = state["rng"]  # re-applied when the validation pass starts again
        sampler = _train_sampler(trainer)
        if sampler is None:
            return
        if state.get("shuffle_seed") is not None:
            sampler.seed = state["shuffle_seed"]
        done = trainer.fit_loop.epoch_loop.batch_progress.current.completed
        if trainer.fit_loop.restarted_mid_epoch and 0 < done < trainer.num_training_batches:
            sampler.skip_next(done * trainer.train_dataloader.batch_size)

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Note the RNG states a pass starts from (its data loader has drawn its seed by now, in a resumed run too),
        or, at the pass a resumed run owes, go back to the states the stopped pass started from."""
        if trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING:
            return
        if self._rerun:
            self._rerun = False
            # count this epoch's validation batches as a run that never stopped does (the mark added one started)
            trainer.fit_loop.epoch_loop.val_loop.batch_progress.total.reset_on_restart()
            if self._validation_rng is not None:
                set_rng_states(self._validation_rng)
                return
        self._validation_rng = rng_states()

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._validation_rng = None

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any) -> None:
        self._drop_owed_pass()

    def _drop_owed_pass(self) -> None:
        """Training went on without the pass a resumed run owed (a resume that validates at other times): forget
        it, so that no later pass starts from its RNG states."""
        if self._rerun:
            self._rerun, self._validation_rng = False, None

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Let Lightning step plateau schedulers at the end of the epoch a run resumed in, as it does in a run that
        never stopped: it skips them while restarting (``_FitLoop.on_advance_end``: the metrics "are not currently
        saved in the checkpoint"), but where this process has validated the epoch they are here."""
        self._drop_owed_pass()
        fit_loop = trainer.fit_loop
        if fit_loop.restarting and getattr(fit_loop.epoch_loop.val_loop, "_has_run", False):
            fit_loop.restarting = False


def mark_validation_unfinished(fit_loop: dict[str, Any]) -> None:
    """Record the validation pass under way in a checkpoint's fit-loop state as started and not processed.

    Lightning resumes a checkpoint whose epoch has trained all its batches as saved after validation and skips the
    pass (``_TrainingEpochLoop.advance``: ``restarted_on_last`` sets ``_skip_next_val``) unless the val loop's
    counters show a batch started but not processed (``restarted_mid_evaluation``: "go back and finish running
    validation"). Its current counters are set to zero, so the pass runs again from its first batch.
    """
    progress = fit_loop[VAL_PROGRESS]
    before = progress["total"]["completed"] - progress["current"]["completed"]  # earlier passes of this epoch
    progress["total"] = {"ready": before + 1, "started": before + 1, "processed": before, "completed": before}
    progress["current"] = dict.fromkeys(progress["current"], 0)
    progress["is_last_batch"] = False


def _stopped_mid_validation(fit_loop: dict[str, Any]) -> bool:
    """Whether a fit-loop state was saved part way through a validation pass (between passes the current counters
    are zero, or at the last batch, finished)."""
    progress = fit_loop.get(VAL_PROGRESS)
    if progress is None:
        return False
    current = progress["current"]
    return current["ready"] > 0 and (not progress["is_last_batch"] or current["ready"] > current["completed"])


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
