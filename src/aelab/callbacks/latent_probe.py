"""Classifier-on-latent accuracy: a logistic regression on codes of a training subset, scored on val and test."""

from __future__ import annotations

import pytorch_lightning as pl

from aelab.analysis.codes import encode_images
from aelab.analysis.probes import probe_accuracy
from aelab.callbacks.common import is_due, keeps_rng
from aelab.data.base import split_of
from aelab.data.splits import seeded_subset
from aelab.nets.modes import eval_mode


class LatentProbe(pl.Callback):
    def __init__(self, every_n_epochs: int = 5, train_samples: int = 5000, max_iter: int = 300, seed: int = 0):
        self.every_n_epochs = every_n_epochs
        self.train_samples = train_samples
        self.max_iter = max_iter
        self.seed = seed

    @keeps_rng
    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if is_due(trainer, self.every_n_epochs):
            self._score(trainer, pl_module, "val", "probe/acc")

    @keeps_rng
    def on_test_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._score(trainer, pl_module, "test", "probe/test_acc")

    def _score(self, trainer: pl.Trainer, pl_module: pl.LightningModule, split: str, key: str) -> None:
        if not trainer.is_global_zero:
            return
        train = split_of(trainer.datamodule, "train")
        train_x, train_y = train.take(seeded_subset(len(train), self.train_samples, self.seed))
        if len(train_y.unique()) < 2:
            return  # unlabelled (or one-class) data: there is nothing for a classifier to tell apart
        eval_x, eval_y = split_of(trainer.datamodule, split).take()
        with eval_mode(pl_module):
            train_codes = encode_images(pl_module.encode, train_x, device=pl_module.device)
            eval_codes = encode_images(pl_module.encode, eval_x, device=pl_module.device)
        acc = probe_accuracy(train_codes, train_y, eval_codes, eval_y, max_iter=self.max_iter)
        pl_module.log(key, acc, rank_zero_only=True)
