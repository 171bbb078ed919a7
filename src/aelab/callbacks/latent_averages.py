"""Latent arithmetic, as in seed 002: decode the mean code of two images, and the mean code of each class.

A good code space puts the decoded average of two codes near a plausible image, not a double exposure.
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch

from aelab.analysis.interpolation import decoded_class_means, decoded_midpoints
from aelab.callbacks.common import is_due, keeps_rng
from aelab.data.base import split_of
from aelab.data.splits import seeded_subset
from aelab.data.tensor_data import to_unit_float
from aelab.models.metrics import is_table_shape
from aelab.nets.modes import eval_mode
from aelab.panels import log_image_grid


class LatentAverages(pl.Callback):
    def __init__(self, every_n_epochs: int = 5, num_pairs: int = 8, seed: int = 0, key: str = "images/latent"):
        self.every_n_epochs = every_n_epochs
        self.num_pairs = num_pairs
        self.seed = seed
        self.key = key

    @keeps_rng
    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if is_table_shape(pl_module.input_shape) or not (
            trainer.is_global_zero and is_due(trainer, self.every_n_epochs)
        ):
            return
        images, labels = split_of(trainer.datamodule, "val").take()
        if len(images) < 2:
            return  # a pair needs two validation images (a tiny folder may hold out one)
        with eval_mode(pl_module):
            pair_rows, class_rows = latent_average_panels(pl_module, images, labels, self.num_pairs, self.seed)
        pair_names = ["image A", "image B", "mean code"]
        log_image_grid(trainer, f"{self.key}_pair_average", pair_rows, "rows: " + ", ".join(pair_names), pair_names)
        class_names = ["class mean"] * len(class_rows)
        log_image_grid(trainer, f"{self.key}_class_means", class_rows, "decoded mean code of each class", class_names)


def latent_average_panels(
    model: pl.LightningModule, images: torch.Tensor, labels: torch.Tensor, num_pairs: int, seed: int
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Rows for the two-image average panel and the class-mean panel (one image per class)."""
    device = model.device
    num_pairs = max(1, min(num_pairs, len(images) // 2))  # small validation splits give fewer pairs
    idx = seeded_subset(len(images), 2 * num_pairs, seed)
    a, b = (to_unit_float(images[i], device) for i in (idx[:num_pairs], idx[num_pairs : 2 * num_pairs]))
    _, class_means = decoded_class_means(model.encode, model.decode, images, labels, batch_size=1024, device=device)
    return [a, b, decoded_midpoints(model.encode, model.decode, a, b)], [class_means]
