"""Classifier-on-latent accuracy: how much label information a code keeps, found by a linear probe."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler


def fit_probe(
    train_codes: torch.Tensor | np.ndarray,
    train_labels: torch.Tensor | np.ndarray,
    max_iter: int = 300,
    C: float = 1.0,
) -> Pipeline:
    """A standardized logistic regression fit on codes; ``.score(codes, labels)`` gives accuracy."""
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter, C=C))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        probe.fit(np.asarray(train_codes, dtype=np.float64), np.asarray(train_labels))
    return probe


def probe_accuracy(
    train_codes: torch.Tensor | np.ndarray,
    train_labels: torch.Tensor | np.ndarray,
    eval_codes: torch.Tensor | np.ndarray,
    eval_labels: torch.Tensor | np.ndarray,
    max_iter: int = 300,
    C: float = 1.0,
) -> float:
    """Accuracy on ``eval_codes`` of a standardized logistic regression fit on ``train_codes``."""
    probe = fit_probe(train_codes, train_labels, max_iter=max_iter, C=C)
    return float(probe.score(np.asarray(eval_codes, dtype=np.float64), np.asarray(eval_labels)))
