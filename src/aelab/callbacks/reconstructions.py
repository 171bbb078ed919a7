"""A panel of fixed validation images (top row), their AE reconstructions and, when fitted, PCA's at the same k."""

from __future__ import annotations

import pytorch_lightning as pl

from aelab.callbacks.common import is_due, keeps_rng
from aelab.callbacks.pca_baseline import PCABaseline
from aelab.data.base import split_of
from aelab.data.splits import seeded_subset
from aelab.data.tensor_data import to_unit_float
from aelab.models.metrics import is_table_shape
from aelab.nets.modes import eval_mode
from aelab.panels import log_image_grid


def find_pca(trainer: pl.Trainer):
    """The PCA fitted by a PCABaseline callback of this trainer, if there is one."""
    baseline = next((cb for cb in trainer.callbacks if isinstance(cb, PCABaseline)), None)
    return baseline.pca if baseline is not None else None


class ReconstructionGrid(pl.Callback):
    def __init__(
        self,
        every_n_epochs: int = 1,
        num_images: int = 10,
        seed: int = 0,
        key: str = "images/reconstructions",
    ):
        self.every_n_epochs = every_n_epochs
        self.num_images = num_images
        self.seed = seed
        self.key = key

    @keeps_rng
    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if is_table_shape(pl_module.input_shape) or not (
            trainer.is_global_zero and is_due(trainer, self.every_n_epochs)
        ):
            return
        val = split_of(trainer.datamodule, "val")
        x = to_unit_float(val.take(seeded_subset(len(val), self.num_images, self.seed))[0], pl_module.device)
        with eval_mode(pl_module):
            if pl_module.noise is not None:  # denoising: noisy input, clean target, output from the noisy input
                noisy = pl_module.noise(x)
                rows, names = [noisy, x, pl_module(noisy)], ["noisy input", "clean image", "AE"]
            else:
                rows, names = [x, pl_module(x)], ["input", "AE"]
        pca = find_pca(trainer)
        if pca is not None:
            clip = bool(getattr(pl_module, "output_in_unit_range", False))
            rows.append(pca.reconstruct(x.cpu(), clip=clip))
            names.append(f"{'clipped ' if clip else ''}PCA-{pca.n_components}")
        caption = "rows: " + ", ".join(names) + (" (of the clean image)" if pl_module.noise is not None else "")
        log_image_grid(trainer, self.key, rows, caption, names)
