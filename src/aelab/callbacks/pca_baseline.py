"""Fit PCA with k = the model's code size on the training split at the start of fit, and score it on test.

Its metrics (``pca/test_mse`` for classic PCA, ``pca/test_mse_clipped`` for reconstructions clipped to [0, 1], the
same for PSNR and SSIM, ``pca/probe_acc``, ...) are logged beside the AE's, and the fitted PCA is kept so other
callbacks can show PCA next to the AE. A PCA-anchored model (``model.anchor=pca``) starts from this same fit. The fit and the scores are baselines.pca.fit_and_score_pca, which evaluate.py
calls too.
"""

from __future__ import annotations

import logging

import pytorch_lightning as pl

from aelab.baselines.pca import PCA, fit_and_score_pca
from aelab.callbacks.common import keeps_rng
from aelab.nets.anchored import is_anchored, set_anchor

log = logging.getLogger(__name__)


class PCABaseline(pl.Callback):
    def __init__(
        self,
        max_fit_samples: int = 60000,
        probe_train_samples: int = 5000,
        probe_max_iter: int = 300,
        seed: int = 0,
    ) -> None:
        self.max_fit_samples = max_fit_samples
        self.probe_train_samples = probe_train_samples
        self.probe_max_iter = probe_max_iter
        self.seed = seed
        self.pca: PCA | None = None
        self.metrics: dict[str, float] = {}

    @keeps_rng
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # the yardstick once, on rank 0 (under DDP every rank sees the whole data module, and only rank 0 reports);
        # a PCA-anchored model needs the same PCA on every rank, and the fit is deterministic
        if trainer.is_global_zero or is_anchored(pl_module):
            self.fit(trainer.datamodule, pl_module, trainer if trainer.is_global_zero else None)

    def fit(self, datamodule: pl.LightningDataModule, model: pl.LightningModule, trainer: pl.Trainer | None) -> None:
        """Fit and score PCA at the model's code size (unless done for this k already), set the model's PCA anchor
        from it if it has one still unset, and log the scores to ``trainer``'s loggers."""
        if self.pca is None or self.metrics.get("pca/k_requested") != model.latent_dim:
            self.pca, self.metrics = fit_and_score_pca(
                datamodule, model.latent_dim, self.max_fit_samples, self.probe_train_samples, self.probe_max_iter,
                self.seed,
            )  # fmt: skip
            log.info("PCA-%d yardstick: %s", model.latent_dim, self.metrics)
            for logger in trainer.loggers if trainer is not None else []:
                logger.log_metrics(self.metrics, step=trainer.global_step)
        set_anchor(model, self.pca.mean, self.pca.components)
