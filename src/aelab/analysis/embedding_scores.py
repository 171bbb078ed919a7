"""How well a low-dimensional code keeps neighbours and classes: the scores every reducer is compared on.

All come from scikit-learn, so a figure here means what it means in any paper that uses the same call:
trustworthiness (``sklearn.manifold.trustworthiness``: are a point's nearest codes also its nearest images?),
k-NN accuracy (train codes label test codes), the silhouette of the codes by class (``sklearn.metrics.
silhouette_score``) and the linear probe of probes.py. Trustworthiness and silhouette cost O(n^2) memory and time, so
they are computed on a fixed subsample of the test images (the same one for every method).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from sklearn.manifold import trustworthiness
from sklearn.metrics import silhouette_score
from sklearn.neighbors import KNeighborsClassifier

from aelab.analysis.probes import probe_accuracy

Array = np.ndarray | torch.Tensor


def _np(a: Array, dtype: type = np.float32) -> np.ndarray:
    return np.asarray(a.detach().cpu() if isinstance(a, torch.Tensor) else a, dtype=dtype).reshape(len(a), -1)


def knn_accuracy(train_codes: Array, train_labels: Array, test_codes: Array, test_labels: Array, k: int = 5) -> float:
    """Accuracy of a k-nearest-neighbour vote (Euclidean, uniform weights) of training codes on test codes."""
    knn = KNeighborsClassifier(n_neighbors=k).fit(_np(train_codes), np.asarray(train_labels).ravel())
    return float(knn.score(_np(test_codes), np.asarray(test_labels).ravel()))


def code_trustworthiness(images: Array, codes: Array, n_neighbors: int = 5) -> float:
    """Trustworthiness in [0, 1] of ``codes`` as a map of ``images`` (flattened pixels): 1 when no code has, among
    its ``n_neighbors`` nearest, an image that is not among the image's own nearest."""
    return float(trustworthiness(_np(images), _np(codes), n_neighbors=n_neighbors))


def code_silhouette(codes: Array, labels: Array) -> float:
    """Mean silhouette in [-1, 1] of the codes grouped by class: high when classes form tight, separate clusters."""
    labels = np.asarray(labels).ravel()
    if len(np.unique(labels)) < 2:
        return float("nan")
    return float(silhouette_score(_np(codes), labels))


def code_scores(
    train_codes: Array,
    train_labels: Array,
    test_codes: Array,
    test_labels: Array,
    test_images_subset: Array,
    subset: np.ndarray,
    knn_k: int = 5,
    trust_neighbors: int = 5,
    probe_max_iter: int = 300,
) -> dict[str, float]:
    """k-NN and probe accuracy on all test codes; trustworthiness and silhouette on the test rows ``subset``
    (``test_images_subset`` are the images of those rows)."""
    codes_subset = _np(test_codes)[subset]
    labels = np.asarray(test_labels).ravel()
    trust = code_trustworthiness(test_images_subset, codes_subset, trust_neighbors)
    if len(np.unique(np.asarray(train_labels))) < 2:  # unlabelled data: only the neighbourhoods can be scored
        return {"knn_acc": math.nan, "probe_acc": math.nan, "trustworthiness": trust, "silhouette": math.nan}
    return {
        "knn_acc": knn_accuracy(train_codes, train_labels, test_codes, test_labels, k=knn_k),
        "probe_acc": probe_accuracy(_np(train_codes), train_labels, _np(test_codes), labels, max_iter=probe_max_iter),
        "trustworthiness": trust,
        "silhouette": code_silhouette(codes_subset, labels[subset]),
    }
