"""Fit PCA with k = the model's code size on the training split at the start of fit, and score it on test.

Its metrics (``pca/test_mse`` for classic PCA, ``pca/test_mse_clipped`` for reconstructions clipped to [0, 1], the
same for PSNR and SSIM, ``pca/probe_acc``, ...) are logged beside the AE's, and the fitted PCA is kept so other
callbacks can show PCA next to the AE.
"""

from __future__ import annotations

import logging

import pytorch_lightning as pl

from aelab.analysis.codes import encode_images
from aelab.analysis.probes import fit_probe
from aelab.baselines.pca import PCA, evaluate_pca
from aelab.data.base import split_of
from aelab.data.splits import seeded_subset
from aelab.data.tensor_data import to_unit_float

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

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # once, on rank 0: under DDP every rank sees the whole data module, and only rank 0 logs and reports
        if not trainer.is_global_zero or (
            self.pca is not None and self.metrics.get("pca/k_requested") == pl_module.latent_dim
        ):
            return
        self.pca, self.metrics = fit_and_score_pca(
            trainer,
            pl_module.latent_dim,
            self.max_fit_samples,
            self.probe_train_samples,
            self.probe_max_iter,
            self.seed,
        )
        log.info("PCA-%d yardstick: %s", pl_module.latent_dim, self.metrics)
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.log_metrics(self.metrics, step=trainer.global_step)


def fit_and_score_pca(
    trainer: pl.Trainer,
    k: int,
    max_fit_samples: int,
    probe_train_samples: int,
    probe_max_iter: int,
    seed: int,
) -> tuple[PCA, dict[str, float]]:
    """PCA-k fit on (a seeded subset of) train, its val/test reconstruction metrics and probe accuracy."""
    requested_k = k
    train = split_of(trainer.datamodule, "train")
    fit_x, _ = train.take(seeded_subset(len(train), max_fit_samples, seed))
    if k > len(fit_x):
        log.warning(
            "PCA-%d needs at least %d training images; fitting PCA-%d on the %d there are", k, k, len(fit_x), len(fit_x)
        )
        k = len(fit_x)
    pca = PCA(k).fit(to_unit_float(fit_x))
    del fit_x
    metrics: dict[str, float] = {"pca/k": float(k), "pca/k_requested": float(requested_k)}
    for split in ("val", "test"):
        images, _ = split_of(trainer.datamodule, split).take()
        metrics |= evaluate_pca(pca, images).as_metrics(f"pca/{split}_")
    probe_x, probe_y = train.take(seeded_subset(len(train), probe_train_samples, seed))
    probe = fit_probe(encode_images(pca.encode, probe_x), probe_y, max_iter=probe_max_iter)
    for split, key in (("val", "pca/probe_acc"), ("test", "pca/probe_test_acc")):
        images, labels = split_of(trainer.datamodule, split).take()
        metrics[key] = float(probe.score(encode_images(pca.encode, images).numpy(), labels.numpy()))
    return pca, metrics
