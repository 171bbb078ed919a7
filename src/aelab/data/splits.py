"""Seeded, reproducible splits: the same seed gives the same images in every split on every machine."""

from __future__ import annotations

import numpy as np
import torch


def stratified_holdout(labels: np.ndarray, holdout: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into (keep, holdout) with ``holdout`` items spread evenly over the classes."""
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    per_class = np.full(len(classes), holdout // len(classes))
    per_class[: holdout % len(classes)] += 1
    held = []
    for cls, count in zip(classes, per_class):
        members = np.flatnonzero(labels == cls)
        if count > len(members):
            raise ValueError(f"class {cls} has {len(members)} items, cannot hold out {count}")
        held.append(rng.permutation(members)[:count])
    held_idx = np.sort(np.concatenate(held))
    keep_idx = np.setdiff1d(np.arange(len(labels)), held_idx)
    return keep_idx, held_idx


def random_holdout(n: int, holdout: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split ``range(n)`` into (keep, holdout) with a seeded permutation."""
    if not 0 < holdout < n:
        raise ValueError(f"cannot hold out {holdout} of {n} items; choose 0 < holdout < {n}")
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[holdout:]), np.sort(perm[:holdout])


def holdout_size(n: int, fraction_or_count: float) -> int:
    """A size given as a fraction (< 1) of ``n`` or as a count (>= 1)."""
    if fraction_or_count <= 0:
        raise ValueError(f"a split size must be positive, got {fraction_or_count}")
    return round(n * fraction_or_count) if fraction_or_count < 1 else int(fraction_or_count)


def seeded_subset(n_total: int, n: int, seed: int) -> torch.Tensor:
    """``n`` fixed, sorted indices out of ``n_total`` (all of them when n >= n_total): the images a panel, a probe
    or a fit uses, the same ones on every call."""
    if n >= n_total:
        return torch.arange(n_total)
    generator = torch.Generator().manual_seed(seed)
    return torch.randperm(n_total, generator=generator)[:n].sort().values
