"""t-SNE maps of codes (seeds 000, 002): a 2-D picture of how the classes lie in code space, AE beside PCA."""

from __future__ import annotations

import inspect
import logging

import numpy as np
import torch
from sklearn.manifold import TSNE
from sklearn.metrics import silhouette_score

log = logging.getLogger(__name__)
# scikit-learn 1.5 renamed TSNE's n_iter to max_iter (and 1.7 removed n_iter); this project allows >= 1.3
ITERATIONS_ARG = "max_iter" if "max_iter" in inspect.signature(TSNE).parameters else "n_iter"


def tsne_2d(
    codes: torch.Tensor | np.ndarray, perplexity: float = 30.0, seed: int = 0, max_iter: int = 1000
) -> np.ndarray:
    """A seeded 2-D t-SNE embedding (n, 2) of codes (n, k); PCA initialisation keeps it stable from run to run.

    t-SNE costs O(n log n) per iteration, so callers pass a capped subset (a thousand points take seconds).
    """
    codes = np.asarray(codes, dtype=np.float32).reshape(len(codes), -1)
    if len(codes) < 5:
        raise ValueError(f"t-SNE needs at least 5 points, got {len(codes)}; raise report.tsne.num_samples")
    usable = (len(codes) - 1) / 3  # sklearn needs perplexity < n; 3 * perplexity neighbours are used
    if perplexity > usable:
        log.warning("t-SNE perplexity %.1f is too large for %d points; using %.1f", perplexity, len(codes), usable)
        perplexity = usable
    if max_iter < 250:
        raise ValueError(f"t-SNE needs at least 250 iterations (its early-exaggeration phase), got {max_iter}")
    tsne = TSNE(
        n_components=2,
        perplexity=perplexity,
        init="pca",
        learning_rate="auto",
        random_state=seed,
        **{ITERATIONS_ARG: max_iter},
    )
    return tsne.fit_transform(codes)


def class_separation(embedding: np.ndarray, labels: torch.Tensor | np.ndarray) -> float:
    """Silhouette score of the labels in the embedding: near 1 for tight, separate class clusters, near 0 for
    overlapping ones; one number to put beside the picture."""
    labels = np.asarray(labels)
    if len(np.unique(labels)) < 2:
        return float("nan")
    return float(silhouette_score(embedding, labels))
