"""One comparison of reducers on one split: every method fit on the same training images at the same k and scored
with the same metrics on the same test images (analysis/embedding_scores.py), the autoencoder included.

Each row holds the test reconstruction MSE (methods with an inverse), trustworthiness and silhouette on a fixed test
subsample, 5-NN and linear-probe accuracy, seconds to fit and seconds to transform 1,000 new images (measured after a
first transform, so one-off compilation such as UMAP's numba is not counted), or the reason the method did not run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from aelab.analysis.embedding_scores import code_scores
from aelab.baselines.reducers import BaselineCannotRun, Reducer, build_baseline

SCORES = ("test_mse", "trustworthiness", "knn_acc", "probe_acc", "silhouette", "fit_seconds", "transform_1k_seconds")


@dataclass
class MethodRow:
    """One method's line in the comparison; a score it cannot have (no inverse, not run) is NaN, ``note`` says why."""

    method: str
    label: str
    k: int
    n_fit: int = 0
    scores: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SCORES, math.nan))
    note: str = ""
    test_codes: np.ndarray | None = field(default=None, repr=False)  # for the figure; left out of as_dict()

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if key != "test_codes"}


@dataclass
class ComparisonData:
    """Flattened float32 images in [0, 1] and labels of the train and test splits, and the test rows on which the
    O(n^2) scores are computed."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    subset: np.ndarray

    @classmethod
    def from_uint8(
        cls,
        train: tuple[torch.Tensor, torch.Tensor],
        test: tuple[torch.Tensor, torch.Tensor],
        trust_samples: int,
        seed: int,
    ) -> ComparisonData:
        flat = [(x.flatten(1).float().div_(255.0).numpy(), y.numpy()) for x, y in (train, test)]
        n_test = len(flat[1][0])
        rng = np.random.default_rng(seed)
        subset = np.sort(rng.choice(n_test, size=min(trust_samples, n_test), replace=False))
        return cls(flat[0][0], flat[0][1], flat[1][0], flat[1][1], subset)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def fit_subset(n: int, limit: int | None, seed: int) -> np.ndarray:
    """Sorted rows of a set of n a method works on: all, or a seeded sample of ``limit`` (``max_train`` of the
    training images, ``max_inverse`` of the test images)."""
    if limit is None or limit >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=int(limit), replace=False))


def score_method(
    row: MethodRow,
    transform: Callable[[np.ndarray], np.ndarray],
    inverse: Callable[[np.ndarray], np.ndarray],
    train_codes: np.ndarray,
    data: ComparisonData,
    settings: Mapping[str, Any],
    max_inverse: int | None = None,
) -> MethodRow:
    """Fill ``row`` from a fitted method: its codes of the test images, their scores, the timed transform and the
    reconstruction MSE where ``inverse`` works (on at most ``max_inverse`` test images, for slow inverses)."""
    test_codes = np.asarray(transform(data.test_x), dtype=np.float32)  # first: one-off compilation happens here
    new_images = data.test_x[: int(settings.get("transform_samples", 1000))]
    _, seconds = timed(lambda: transform(new_images))
    row.scores["transform_1k_seconds"] = seconds * 1000 / len(new_images)
    row.scores |= code_scores(
        train_codes, data.train_y, test_codes, data.test_y, data.test_x[data.subset], data.subset,
        knn_k=int(settings.get("knn_k", 5)), trust_neighbors=int(settings.get("trust_neighbors", 5)),
    )  # fmt: skip
    rows = fit_subset(len(data.test_x), max_inverse, int(settings.get("seed", 0)))
    try:
        recon, seconds = timed(lambda: np.asarray(inverse(test_codes[rows]), dtype=np.float32))
        row.scores["test_mse"] = float(np.mean((recon.reshape(len(rows), -1) - data.test_x[rows]) ** 2))
        if len(rows) < len(data.test_x):
            row.note = (
                f"test MSE on a seeded {len(rows):,} of the {len(data.test_x):,} test images: its inverse took "
                f"{seconds / len(rows):.2f} s per image (report.compare.methods.{row.method}.max_inverse)"
            )
    except BaselineCannotRun as err:  # no inverse (t-SNE), or none at this k (UMAP): the reason stands in the row
        row.note = str(err)
    row.test_codes = test_codes
    return row


def run_baseline(name: str, k: int, data: ComparisonData, settings: Mapping[str, Any]) -> MethodRow:
    """Fit and score the baseline ``name``; a method that cannot run comes back with NaNs and the reason."""
    seed = int(settings.get("seed", 0))
    method = build_baseline(name, k, seed, (settings.get("methods") or {}).get(name))
    rows = fit_subset(len(data.train_x), method.max_train, seed)
    row = MethodRow(name, method.label, k, n_fit=len(rows))
    try:
        method.check(len(rows), data.train_x.shape[1])
        print(f"compare: {method.label} at k={k}, fit on {len(rows):,} training images", flush=True)
        _, row.scores["fit_seconds"] = timed(lambda: method.fit(data.train_x[rows]))
        whole = len(rows) == len(data.train_x)
        # t-SNE and UMAP optimise a map of their training points: those are their training codes
        train_codes = fitted_embedding(method) if whole else None
        if train_codes is None:
            train_codes = method.transform(data.train_x)
        inverse = method.inverse_transform
        return score_method(row, method.transform, inverse, train_codes, data, settings, method.max_inverse)
    except BaselineCannotRun as err:
        row.note = str(err)
        print(f"compare: {method.label} at k={k} not run: {err}", flush=True)
        return row


def fitted_embedding(method: Any) -> np.ndarray | None:
    """The map a neighbour-embedding method optimised for its training points (UMAP's ``embedding_``, openTSNE's
    embedding), or None for methods that have none."""
    embedding = getattr(getattr(method, "model", None), "embedding_", None)
    if embedding is None:
        embedding = getattr(method, "embedding", None)
    return None if embedding is None else np.asarray(embedding, dtype=np.float32)


def run_autoencoder(
    reducer: Reducer,
    k: int,
    data: ComparisonData,
    settings: Mapping[str, Any],
    n_fit: int = 0,
    fit_seconds: float = math.nan,
) -> MethodRow:
    """The trained autoencoder's row: its codes scored like every baseline's; the fit (training) is not redone
    here, so its size and seconds come from the run when known."""
    row = MethodRow("autoencoder", reducer.label, k, n_fit=n_fit)
    row.scores["fit_seconds"] = fit_seconds
    transform, inverse = reducer.transform, reducer.inverse_transform
    return score_method(row, transform, inverse, transform(data.train_x), data, settings)


def compare_reducers(
    data: ComparisonData, k: int, names: Sequence[str], settings: Mapping[str, Any]
) -> list[MethodRow]:
    """A row per baseline in ``names``, in that order."""
    return [run_baseline(name, k, data, settings) for name in names]
