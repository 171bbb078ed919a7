"""What a generative model makes of its latent space: decoded draws from the prior, and decoded straight lines
between the codes of two validation images. Models without ``sample`` and ``interpolate`` (plain AEs) are skipped.
"""

from __future__ import annotations

import math

import pytorch_lightning as pl
import torch

from aelab.callbacks.common import is_due, keeps_rng
from aelab.data.base import split_of
from aelab.data.splits import seeded_subset
from aelab.data.tensor_data import to_unit_float
from aelab.models.metrics import is_table_shape
from aelab.nets.modes import eval_mode
from aelab.panels import log_image_grid


def is_generative(model: pl.LightningModule) -> bool:
    return all(callable(getattr(model, name, None)) for name in ("sample", "interpolate"))


class GenerativePanels(pl.Callback):
    """Logs ``<key>/prior_samples`` and ``<key>/latent_interpolation``; the draws and the image pairs are fixed by
    ``seed``, so successive panels show the same codes as training goes on."""

    def __init__(
        self,
        every_n_epochs: int = 5,
        num_samples: int = 36,
        num_pairs: int = 4,
        interpolation_steps: int = 8,
        seed: int = 0,
        key: str = "images",
    ) -> None:
        if num_samples < 1 or num_pairs < 1:
            raise ValueError(
                f"GenerativePanels: num_samples and num_pairs must be >= 1, got {num_samples} and {num_pairs}; "
                "switch the panels off with callbacks.generative_panels=null"
            )
        if interpolation_steps < 2:
            raise ValueError(
                f"GenerativePanels: interpolation_steps must be >= 2 (the two ends), got {interpolation_steps}"
            )
        self.every_n_epochs = every_n_epochs
        self.num_samples = num_samples
        self.num_pairs = num_pairs
        self.interpolation_steps = interpolation_steps
        self.seed = seed
        self.key = key

    @keeps_rng
    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if is_table_shape(pl_module.input_shape) or not (
            is_generative(pl_module) and trainer.is_global_zero and is_due(trainer, self.every_n_epochs)
        ):
            return
        val = split_of(trainer.datamodule, "val")
        index = seeded_subset(len(val), 2 * max(1, min(self.num_pairs, len(val) // 2)), self.seed)
        images = to_unit_float(val.take(index)[0], pl_module.device)
        with eval_mode(pl_module):
            samples = pl_module.sample(self.num_samples, generator=torch.Generator().manual_seed(self.seed))
            rows = interpolation_rows(pl_module, images, self.interpolation_steps) if len(images) >= 2 else []
        per_row = math.ceil(math.sqrt(self.num_samples))
        log_image_grid(trainer, f"{self.key}/prior_samples", list(samples.split(per_row)), "decoded z ~ N(0, I)")
        if rows:
            log_image_grid(
                trainer,
                f"{self.key}/latent_interpolation",
                rows,
                "each row: image A, decoded codes from A's posterior mean to B's, image B",
                [f"pair {i + 1}: A to B" for i in range(len(rows))],
            )


def interpolation_rows(model: pl.LightningModule, images: torch.Tensor, steps: int) -> list[torch.Tensor]:
    """One row per pair (first half of ``images`` with second half): A, ``steps`` decoded codes, B."""
    half = len(images) // 2
    a, b = images[:half], images[half : 2 * half]
    path = model.interpolate(a, b, steps)
    return [torch.cat([a[i : i + 1], path[i], b[i : i + 1]]) for i in range(half)]
