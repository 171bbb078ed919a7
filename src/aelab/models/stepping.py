"""How the AutoEncoder takes its optimizer steps, and on which epochs the extras (metrics, panels, probes) run.

Lightning's automatic optimization wraps every step in a closure and several rounds of hooks; for the lab's small
nets that framework work costs about as much as the step itself. The module therefore steps its optimizer itself
(Lightning's manual optimization, its public API), one step per batch, and takes a whole ``BatchGroup``
(``data.group_batches``) per Lightning batch, so the per-batch work of Lightning and the callbacks is paid once per
group. Where the trainer asks for what Lightning refuses under manual optimization (``trainer.gradient_clip_val``,
``trainer.accumulate_grad_batches``), the module falls back to Lightning's automatic loop, one batch at a time.

In fp32 on one device, where no callback listens to the per-step hooks, a step calls backward and the optimizer
directly (``plain_steps_possible``): the weights are the same, the hooks nobody listens to are not run.

Manual optimization leaves learning-rate schedulers to the module: ``step_schedulers`` steps them where Lightning's
automatic loop would (after each optimizer step, at the last batch of an epoch, after validation for plateaus), so a
run and its checkpoints follow the same schedule on either path.
"""

from __future__ import annotations

import os
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.plugins.precision import Precision
from pytorch_lightning.strategies import SingleDeviceStrategy
from pytorch_lightning.trainer.states import TrainerFn
from pytorch_lightning.utilities.model_helpers import is_overridden

from aelab.build import build
from aelab.data.tensor_data import BatchGroup, batches_of

DEFAULT_OPTIMIZER = {"_target_": "torch.optim.Adam", "_partial_": True, "lr": 1e-3}


def is_due(trainer: pl.Trainer, every_n_epochs: int) -> bool:
    """True on every n-th epoch and on the last one; never during the sanity check."""
    if trainer.sanity_checking or every_n_epochs <= 0:
        return False
    epoch = trainer.current_epoch + 1
    last = trainer.max_epochs is not None and epoch >= trainer.max_epochs
    return epoch % every_n_epochs == 0 or last or bool(trainer.fast_dev_run)


def fitting(trainer: pl.Trainer) -> bool:
    return trainer.state.fn == TrainerFn.FITTING


def skip_nvml_probe_without_gpu() -> None:
    """Lightning sets PYTORCH_NVML_BASED_CUDA_CHECK=1 at import (so probing CUDA cannot poison forked workers), which
    makes every ``torch.cuda.is_available()`` load NVML again: tens of microseconds inside each optimizer step on a
    CUDA build of torch without a GPU. Where there is no GPU the plain probe poisons nothing and is cached."""
    if not torch.cuda.is_available():
        os.environ.pop("PYTORCH_NVML_BASED_CUDA_CHECK", None)


PER_STEP_HOOKS = ("on_before_backward", "on_after_backward", "on_before_optimizer_step", "on_before_zero_grad")


def plain_steps_possible(module: pl.LightningModule, optimizer: Any) -> bool:
    """Whether a step may skip the rounds of hooks Lightning runs around each backward pass and optimizer step: fp32
    on one device (no loss scaling, no gradient sync), and no callback or module hook that would run there."""
    trainer = module.trainer
    if type(trainer.precision_plugin) is not Precision or not isinstance(trainer.strategy, SingleDeviceStrategy):
        return False
    if not (hasattr(optimizer, "_on_before_step") and hasattr(optimizer, "_on_after_step")):
        return False  # a Lightning without these keeps the public path
    listeners = [c for c in trainer.callbacks if any(is_overridden(h, c, pl.Callback) for h in PER_STEP_HOOKS)]
    hooks = ("configure_gradient_clipping", *PER_STEP_HOOKS)
    return not listeners and not any(is_overridden(h, module, pl.LightningModule) for h in hooks)


class OwnOptimizerSteps:
    """LightningModule mixin: ``training_loss(batch, batch_idx, log)`` is the subclass's; the stepping is here, with
    the optimizer and scheduler built from ``hparams.optimizer`` / ``scheduler`` (``_target_`` dicts)."""

    def configure_optimizers(self) -> Any:
        optimizer = build(self.hparams.optimizer or DEFAULT_OPTIMIZER)(params=self.parameters())
        if not self.hparams.scheduler:
            return optimizer
        scheduler = build(self.hparams.scheduler)(optimizer=optimizer)
        config = {"scheduler": scheduler, "interval": self.hparams.scheduler_interval}
        if self.automatic_optimization:  # under manual optimization step_schedulers reads the monitor itself
            config["monitor"] = self.hparams.scheduler_monitor
        return {"optimizer": optimizer, "lr_scheduler": config}

    @property
    def automatic_optimization(self) -> bool:
        """Lightning's automatic loop only where the trainer clips or accumulates gradients (or a subclass set it)."""
        forced = self.__dict__.get("_forced_automatic_optimization")
        if forced is not None:
            return forced
        trainer = self._trainer
        if trainer is None:
            return True
        return bool(trainer.gradient_clip_val) or trainer.accumulate_grad_batches != 1

    @automatic_optimization.setter
    def automatic_optimization(self, value: bool) -> None:
        self.__dict__["_forced_automatic_optimization"] = bool(value)

    def on_fit_start(self) -> None:
        skip_nvml_probe_without_gpu()
        self.__dict__.pop("_plain_steps", None)  # decided again for this fit's trainer and callbacks

    @property
    def takes_batch_groups(self) -> bool:
        """Whether a data module may hand this module a ``BatchGroup`` (read by ``data.group_batches``)."""
        return not self.automatic_optimization

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor | None:
        if self.automatic_optimization:
            return self.training_loss(batch, batch_idx, self.logs_this_step())
        optimizer = self.optimizers()
        plain = self.__dict__.get("_plain_steps")
        if plain is None:
            plain = self.__dict__["_plain_steps"] = plain_steps_possible(self, optimizer)
        members = batches_of(batch)
        for i, member in enumerate(members):
            last = i == len(members) - 1
            # a group logs its last loss: Lightning writes logs once per Lightning batch
            log = last and (isinstance(batch, BatchGroup) or self.logs_this_step())
            loss = self.training_loss(member, batch_idx, log)
            if plain:  # what manual_backward and LightningOptimizer.step do here, less hooks nobody listens to
                optimizer.optimizer.zero_grad()
                loss.backward()
                optimizer._on_before_step()  # Lightning's step count (global_step), as LightningOptimizer.step
                optimizer.optimizer.step()
                optimizer._on_after_step()
            else:
                optimizer.zero_grad()
                self.manual_backward(loss)
                optimizer.step()
            self.step_schedulers("step")
        return None

    def logs_this_step(self) -> bool:
        """Log only on the steps Lightning writes, (batches stepped + 1) % log_every_n_steps == 0 and fast_dev_run:
        each self.log call costs more than a small net's whole training step."""
        trainer = self.trainer
        every = max(trainer.log_every_n_steps, 1)
        return bool(trainer.fast_dev_run) or (self.global_step + 1) % every == 0

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        if not self.automatic_optimization and batch_idx + 1 == self.trainer.num_training_batches:
            self.step_schedulers("epoch")

    def step_schedulers(self, interval: str, plateau: bool = False) -> None:
        """Step the schedulers of ``interval`` (and of ``plateau`` kind), honouring their frequency, as Lightning's
        automatic loop does; nothing under automatic optimization, where Lightning does it."""
        if self.automatic_optimization:
            return
        trainer = self.trainer
        index = trainer.global_step - 1 if interval == "step" else trainer.current_epoch
        for config in trainer.lr_scheduler_configs:
            on_plateau = isinstance(config.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
            if config.interval != interval or on_plateau != plateau or index % config.frequency:
                continue
            if not plateau:
                config.scheduler.step()
                continue
            monitor = self.hparams.scheduler_monitor
            value = trainer.callback_metrics.get(monitor)
            if value is None:
                raise RuntimeError(
                    f"the ReduceLROnPlateau scheduler watches {monitor!r}, which was not logged; logged: "
                    f"{sorted(trainer.callback_metrics)}. Set model.scheduler_monitor to one of them."
                )
            config.scheduler.step(value.float().item())
