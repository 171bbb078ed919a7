"""The latent space as a table at the end of training: test images with their label, reconstruction error and code.

With the W&B logger it is a ``wandb.Table`` (key ``test/codes``): W&B's embedding projector (a 2D Projection panel)
plots the code columns, coloured by label or error, with the images on hover. Every run also writes it as
``test_codes.csv`` in the run folder (index, label, mse, z0 ... z{k-1}), which CSV and TensorBoard users read.
"""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import WandbLogger

from aelab.analysis.codes import iterate_float_batches
from aelab.callbacks.common import keeps_rng
from aelab.data.base import split_of
from aelab.data.splits import seeded_subset
from aelab.files import write_text_atomic
from aelab.nets.modes import eval_mode


class CodeTable(pl.Callback):
    def __init__(self, num_images: int = 500, seed: int = 0, filename: str = "test_codes.csv") -> None:
        self.num_images = num_images
        self.seed = seed
        self.filename = filename

    @keeps_rng
    def on_test_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero or trainer.sanity_checking or self.num_images <= 0:
            return
        test = split_of(trainer.datamodule, "test")
        index = seeded_subset(len(test), self.num_images, self.seed)
        images, labels = test.take(index)
        codes, errors = [], []
        with eval_mode(pl_module), torch.no_grad():
            for x in iterate_float_batches(images, 256, pl_module.device):
                z = pl_module.encode(x)
                errors.append(((pl_module.decode(z) - x) ** 2).flatten(1).mean(1).float().cpu())
                codes.append(z.float().cpu())
        code, mse = torch.cat(codes), torch.cat(errors)
        names = list(getattr(trainer.datamodule, "class_names", []) or [])
        label_names = [names[y] if 0 <= y < len(names) else str(y) for y in labels.tolist()]
        columns = ["index", "label", "mse", *(f"z{i}" for i in range(code.shape[1]))]
        rows = [[int(i), lab, float(e), *map(float, z)] for i, lab, e, z in zip(index.tolist(), label_names, mse, code)]
        lines = [",".join(columns)] + [",".join(str(v) for v in row) for row in rows]
        write_text_atomic(Path(trainer.default_root_dir) / self.filename, "\n".join(lines) + "\n")
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                import wandb

                table = wandb.Table(columns=["image", *columns])
                for image, row in zip(images, rows):
                    table.add_data(wandb.Image(image.permute(1, 2, 0).numpy()), *row)
                logger.experiment.log({"test/codes": table})
