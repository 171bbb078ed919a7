"""The one deterministic AutoEncoder LightningModule: it owns the objective, the nets only know shapes.

Every variant of the lab is a configuration of this class: an encoder/decoder pair, a reconstruction loss,
an optional input corruption (denoising), named penalty terms (sparse, contractive, L2, ...) and an optional
code transform (k-sparse). The nets, penalties, noise, optimizer and scheduler arrive as ``_target_`` dicts and are
stored as hyperparameters, so ``AutoEncoder.load_from_checkpoint(path)`` rebuilds the model without the Hydra config.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn

from aelab.build import build
from aelab.checkpoints import MODEL_CLASS_KEY, check_model_kind, class_path
from aelab.data.tensor_data import BatchGroup, to_unit_float
from aelab.errors import NonFiniteLossError, ShapeMismatchError
from aelab.models.metrics import CodeStatistics, code_statistics, image_metrics, reconstruction_loss
from aelab.models.penalties import StepOutputs, build_penalties
from aelab.models.stepping import OwnOptimizerSteps, fitting, is_due
from aelab.nets.anchored import anchored, ends_in_sigmoid
from aelab.nets.modes import eval_mode

Spec = Mapping[str, Any] | nn.Module


class AutoEncoder(OwnOptimizerSteps, pl.LightningModule):
    """x -> encoder -> z -> decoder -> x_hat, trained to reconstruct the clean x."""

    def __init__(
        self,
        encoder: Spec,
        decoder: Spec,
        input_shape: Sequence[int],
        loss: str = "mse",
        optimizer: Mapping[str, Any] | None = None,
        scheduler: Mapping[str, Any] | None = None,
        scheduler_interval: str = "epoch",
        scheduler_monitor: str = "val/loss",
        penalties: Mapping[str, Spec | None] | Sequence[Spec] = (),
        noise: Spec | None = None,
        code_transform: Spec | None = None,
        code_zero_threshold: float = 1e-3,
        latent_dim: int | None = None,
        nan_check_every_n_steps: int = 1,
        val_metrics_every_n_epochs: int = 1,
        channels_last: bool = False,
        compile: bool = False,
        anchor: str | None = None,
        name: str = "autoencoder",
    ) -> None:
        super().__init__()
        ready_modules = [
            key for key, value in (("encoder", encoder), ("decoder", decoder)) if isinstance(value, nn.Module)
        ]
        self.save_hyperparameters(ignore=ready_modules)
        self.name = name
        self.input_shape = tuple(int(d) for d in input_shape)
        self.encoder, self.decoder = anchored(build(encoder), build(decoder), self.input_shape, anchor)
        self.noise = build(noise) if noise is not None else None
        self.penalties = build_penalties(penalties)
        self.code_transform = build(code_transform) if code_transform is not None else None
        self.loss_fn = reconstruction_loss(loss)
        self.code_shape = self._check_shapes()
        self.latent_dim = math.prod(self.code_shape)
        if latent_dim is not None and latent_dim != self.latent_dim:
            raise ShapeMismatchError(
                f"model {name}: latent_dim is {latent_dim} but the encoder gives codes of shape "
                f"{list(self.code_shape)} ({self.latent_dim} values); make them agree."
            )
        if (
            isinstance(val_metrics_every_n_epochs, bool)
            or not isinstance(val_metrics_every_n_epochs, int)
            or val_metrics_every_n_epochs < 0
        ):
            raise ValueError(
                f"model.val_metrics_every_n_epochs must be a whole number of epochs (0: never); got {val_metrics_every_n_epochs!r}"
            )
        self._bind_regularisers()
        self.val_metrics = image_metrics("val/", self.input_shape)
        self.test_metrics = image_metrics("test/", self.input_shape)
        self.val_code_stats = CodeStatistics("val/", code_zero_threshold)
        self.test_code_stats = CodeStatistics("test/", code_zero_threshold)

    def _bind_regularisers(self) -> None:
        """Let each penalty (and the code transform) check the built model now, before any training."""
        with eval_mode(self):
            for part in [*self.penalties.values(), self.code_transform]:
                if part is not None and hasattr(part, "bind"):
                    part.bind(self)

    @property
    def output_in_unit_range(self) -> bool:
        """Whether reconstructions are squashed into [0, 1] by a final sigmoid. Such a model is compared with PCA
        clipped to [0, 1]; a model with an unbounded output (the linear AE) with classic PCA."""
        return ends_in_sigmoid(self.decoder)

    # -- shapes ----------------------------------------------------------------------------------------------
    def _check_shapes(self) -> tuple[int, ...]:
        """Run two dummy images through the nets now, so a shape error names both shapes at construction."""
        probe = torch.zeros(2, *self.input_shape)
        with eval_mode(self):
            try:
                z = self._probe_code(probe)
            except RuntimeError as err:
                raise ShapeMismatchError(
                    f"model {self.name}: the encoder does not accept inputs of shape {list(self.input_shape)} "
                    f"({math.prod(self.input_shape)} values): {err}. The model's input_shape must match "
                    "data.shape; check the encoder's settings."
                ) from err
            try:
                x_hat = self.decoder(z)
            except RuntimeError as err:
                raise ShapeMismatchError(
                    f"model {self.name}: the decoder does not accept the encoder's codes of shape "
                    f"{list(z.shape[1:])}: {err}"
                ) from err
        if tuple(x_hat.shape[1:]) != self.input_shape:
            raise ShapeMismatchError(
                f"model {self.name}: the decoder outputs images of shape {list(x_hat.shape[1:])} but the input "
                f"shape is {list(self.input_shape)}; change the decoder so they agree."
            )
        return tuple(z.shape[1:])

    def _probe_code(self, probe: torch.Tensor) -> torch.Tensor:
        """The code of the shape check's dummy images; a subclass whose encoder gives more than a tensor (the VAE)
        says here how to get the code from it."""
        z = self.encoder(probe)
        if not isinstance(z, torch.Tensor):  # e.g. a VAE's GaussianEncoder, or a VAE checkpoint loaded here
            raise TypeError(
                f"model {self.name}: the encoder gives a {type(z).__name__}, not a code tensor. An encoder "
                "that gives a distribution belongs in a VAE (model=vae or vae_conv); a VAE checkpoint reloads "
                "with VAE.load_from_checkpoint (evaluate.py picks the right class itself)."
            )
        return z

    def check_data(self, datamodule: Any) -> None:
        """Refuse a data module whose images are not the shape this model takes, before anything is built for it."""
        data_shape = tuple(datamodule.shape)
        if self.input_shape != data_shape:
            raise ShapeMismatchError(
                f"model {self.name} takes inputs of shape {list(self.input_shape)} but data "
                f"{getattr(datamodule, 'name', '')} gives {list(data_shape)}. Leave model.input_shape at ${{data.shape}} "
                "or choose a model whose net accepts this data."
            )

    # -- the model as a tool ---------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.code(x))

    def code(self, x: torch.Tensor) -> torch.Tensor:
        """The code the decoder sees: the encoder's output after the code transform (k-sparse), if any."""
        z = self.encoder(x)
        return self.code_transform(z) if self.code_transform is not None else z

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Flat codes (B, latent_dim): what probes, PCA comparisons and latent averages work on."""
        return self.code(x).flatten(1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images from flat codes (B, latent_dim)."""
        return self.decoder(z.view(-1, *self.code_shape))

    # -- speed options ---------------------------------------------------------------------------------------
    def configure_model(self) -> None:
        """Lightning calls this once the model is on its strategy; apply the layout and compile options here.

        ``nn.Module.compile`` compiles in place, so parameter names (and checkpoints) stay as they are.
        """
        if self.hparams.channels_last:
            self.to(memory_format=torch.channels_last)
        if self.hparams.compile and not getattr(self, "_compiled", False):
            self.encoder.compile()
            self.decoder.compile()
            self._compiled = True

    # -- training --------------------------------------------------------------------------------------------
    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Data modules hand out uint8; scale to float [0, 1] here, on the device, after the copy."""
        if isinstance(batch, BatchGroup):
            return BatchGroup(self.on_after_batch_transfer(member, dataloader_idx) for member in batch)
        x, y = batch
        if x.dtype == torch.uint8:
            x = to_unit_float(x)
        if self.hparams.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, y

    def objective(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor], StepOutputs]:
        """Total loss, its terms by name, and the step's tensors. Noise applies in training only."""
        x_in = self.noise(x) if (self.noise is not None and self.training) else x
        z = self.code(x_in)
        x_hat = self.decoder(z)
        out = StepOutputs(x=x, x_in=x_in, z=z, x_hat=x_hat, encoder=self.encoder, decoder=self.decoder)
        recon = self.loss_fn(x_hat, x)
        return self.add_penalties(recon, out)

    def add_penalties(
        self, total: torch.Tensor, out: StepOutputs, terms: dict[str, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], StepOutputs]:
        """total + sum of weight * term over the penalties; every term is returned by name for logging."""
        terms = {"recon": total} if terms is None else terms
        for name, penalty in self.penalties.items():
            value = penalty(out)
            terms[name] = value
            total = total + penalty.weight * value
        return total, terms, out

    @property
    def is_regularised(self) -> bool:
        """Whether there is more than a reconstruction term to log (penalties, or a constrained code)."""
        return bool(len(self.penalties)) or self.code_transform is not None

    def training_loss(self, batch: Any, batch_idx: int, log: bool) -> torch.Tensor:
        """The loss of one training batch (checked for NaN, summed for the epoch mean, logged when ``log``)."""
        x, _ = batch
        loss, terms, out = self.objective(x)
        every = self.hparams.nan_check_every_n_steps
        if every and self.global_step % every == 0 and not torch.isfinite(loss):
            raise NonFiniteLossError(
                f"model {self.name}: the training loss became {loss.item()} at global step {self.global_step} "
                f"(epoch {self.current_epoch}, batch {batch_idx}); terms: "
                f"{ {k: float(v.detach()) for k, v in terms.items()} }. Training stopped; checkpoints already written are "
                "kept. Lower model.optimizer.lr or set trainer.gradient_clip_val."
            )
        self._epoch_loss_sum += loss.detach()
        self._epoch_steps += 1
        if log:
            self.log("train/loss", loss, prog_bar=True)
            if self.is_regularised:
                self.log_dict({f"train/{k}": v for k, v in terms.items()})
                self.log_dict(code_statistics(out.z.detach(), self.hparams.code_zero_threshold, "train/"))
        return loss

    def on_train_start(self) -> None:
        self.on_train_epoch_start()  # a run resumed mid-epoch starts without on_train_epoch_start

    def on_train_epoch_start(self) -> None:
        self._epoch_loss_sum = torch.zeros((), device=self.device)
        self._epoch_steps = 0

    def on_train_epoch_end(self) -> None:
        if self._epoch_steps:
            self.log("train/loss_epoch", self._epoch_loss_sum / self._epoch_steps, sync_dist=True)
        self.step_schedulers("epoch", plateau=True)

    def on_validation_epoch_start(self) -> None:
        """The image metrics (SSIM above all) cost more than the validation pass: every n epochs and at the last
        while fitting, every time when validating on its own. val/loss is logged on every epoch."""
        trainer = self.trainer
        every = self.hparams.val_metrics_every_n_epochs
        self._val_metrics_due = not fitting(trainer) or trainer.sanity_checking or is_due(trainer, every)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        due = getattr(self, "_val_metrics_due", True)
        self._eval_step(batch, "val", self.val_metrics if due else None, self.val_code_stats if due else None)

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._eval_step(batch, "test", self.test_metrics, self.test_code_stats)

    def _eval_step(self, batch: Any, stage: str, metrics: nn.Module | None, code_stats: CodeStatistics | None) -> None:
        x, _ = batch
        loss, _, out = self.objective(x)
        self.log(f"{stage}/loss", loss, prog_bar=stage == "val", sync_dist=True)
        if self.noise is not None:  # a denoising AE is also scored on what it is for: noisy in, clean out
            self.log(f"{stage}/denoise_mse", F.mse_loss(self(self.noise(x)), x), sync_dist=True)
        if metrics is None:
            return
        # torchmetrics reshapes with .view, which channels_last tensors refuse: hand it the standard layout
        metrics.update(out.x_hat.float().contiguous(), x.float().contiguous())
        code_stats.update(out.z)

    def on_validation_epoch_end(self) -> None:
        if not getattr(self, "_val_metrics_due", True):
            return
        self.log_dict({**self.val_metrics.compute(), **self.val_code_stats.compute()})
        self.val_metrics.reset()
        self.val_code_stats.reset()

    def on_test_epoch_end(self) -> None:
        self.log_dict({**self.test_metrics.compute(), **self.test_code_stats.compute()})
        self.test_metrics.reset()
        self.test_code_stats.reset()

    # -- checkpoints -----------------------------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[MODEL_CLASS_KEY] = class_path(type(self))

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Refuse weights written by another kind of model (a VAE asked to load a deterministic AE, or back)."""
        check_model_kind(checkpoint, self, "this checkpoint")
