"""Baselines every autoencoder is measured against."""

from aelab.baselines.pca import PCA, evaluate_pca

__all__ = ["PCA", "evaluate_pca"]
