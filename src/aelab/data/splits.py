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


def three_way_split(n: int, val_size: float, test_size: float, seed: int) -> tuple[np.ndarray, ...]:
    """Row indices (train, val, test) of ``n`` items: a seeded ``test_size`` held out, then ``val_size`` of the rest."""
    rows = np.arange(n)
    keep, test = random_holdout(n, holdout_size(n, test_size, "data.test_size"), seed)
    keep, test = rows[keep], rows[test]
    train, val = random_holdout(len(keep), holdout_size(len(keep), val_size, "data.val_size"), seed)
    return keep[train], keep[val], test


def check_split_size(size: float, setting: str) -> None:
    """Refuse a split size that is neither a fraction (0 < size < 1) nor a whole count (>= 1)."""
    if isinstance(size, bool) or not isinstance(size, int | float) or size <= 0 or (size >= 1 and size != int(size)):
        raise ValueError(
            f"{setting}={size!r}: a split size is a fraction of the images (0 < size < 1, e.g. 0.1) or a whole "
            "number of images (e.g. 500)."
        )


def holdout_size(n: int, fraction_or_count: float, setting: str = "the split size") -> int:
    """A size given as a fraction (< 1) of ``n`` or as a count (>= 1), checked to leave images on both sides."""
    check_split_size(fraction_or_count, setting)
    size = round(n * fraction_or_count) if fraction_or_count < 1 else int(fraction_or_count)
    if not 0 < size < n:
        raise ValueError(
            f"{setting}={fraction_or_count} holds out {size} of the {n} images there are, leaving "
            f"{'none' if size >= n else 'all of them'} on the other side. "
            + (
                f"Add images (a split needs at least 2), or set {setting} to a smaller count."
                if n < 2 or size >= n
                else f"Set {setting} to a larger fraction or to a count such as 1."
            )
        )
    return size


def seeded_subset(n_total: int, n: int, seed: int) -> torch.Tensor:
    """``n`` fixed, sorted indices out of ``n_total`` (all of them when n >= n_total): the images a panel, a probe
    or a fit uses, the same ones on every call."""
    if n >= n_total:
        return torch.arange(n_total)
    generator = torch.Generator().manual_seed(seed)
    return torch.randperm(n_total, generator=generator)[:n].sort().values
