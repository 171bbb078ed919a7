"""Anomaly detection by reconstruction error (seeds 002, 004): a model reconstructs what it was trained on well,
so an image it reconstructs badly is scored as unlike its training data."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from aelab.analysis.codes import Batchwise, iterate_float_batches


@torch.no_grad()
def reconstruction_errors(
    reconstruct: Batchwise, images_uint8: torch.Tensor, batch_size: int = 512, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """Per-image mean squared error (N,) of ``reconstruct`` (float [0, 1] batch -> images) on a uint8 image set."""
    errors = []
    for x in iterate_float_batches(images_uint8, batch_size, device):
        x_hat = reconstruct(x).to(x.device).view_as(x).float()
        errors.append((x_hat - x).pow(2).flatten(1).mean(1).cpu())
    return torch.cat(errors)


def anomaly_mask(labels: torch.Tensor, anomaly_classes: Collection[int]) -> torch.Tensor:
    """True where the label is one of ``anomaly_classes`` (the positives of the detection task)."""
    return torch.isin(labels, torch.as_tensor(sorted(anomaly_classes), dtype=labels.dtype))


def anomaly_auroc(scores: torch.Tensor | np.ndarray, is_anomaly: torch.Tensor | np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` (higher = more anomalous): 1.0 ranks every anomaly above every normal
    image, 0.5 is chance."""
    is_anomaly = np.asarray(is_anomaly, dtype=bool)
    if is_anomaly.all() or not is_anomaly.any():
        raise ValueError(
            f"AUROC needs both anomalies and normal images; got {int(is_anomaly.sum())} anomalies among "
            f"{is_anomaly.size} images. Choose an anomaly class that the test split holds, but not alone."
        )
    return float(roc_auc_score(is_anomaly, np.asarray(scores, dtype=np.float64)))
