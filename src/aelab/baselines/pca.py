"""PCA at the AE's code size: the linear yardstick that every run reports beside the autoencoder.

PCA is the optimal linear autoencoder under MSE, so a nonlinear AE earns its keep only by beating it. Two versions are
scored: classic PCA (what a linear AE converges to) and PCA with its reconstructions clipped to [0, 1], as anyone
comparing it in numpy would do and as an AE's sigmoid output does for free. Clipping only moves pixels towards the
truth, so the clipped yardstick is never weaker; nonlinear AEs are measured against it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from aelab.analysis.codes import encode_images, iterate_float_batches
from aelab.analysis.probes import fit_probe
from aelab.data.base import split_of
from aelab.data.splits import seeded_subset
from aelab.data.tensor_data import to_unit_float
from aelab.ssim import ssim_per_image

log = logging.getLogger(__name__)

# Above this many values per image (and images), the exact eigendecomposition costs too much memory and time, and a
# randomized low-rank SVD (torch.pca_lowrank) is used instead.
EXACT_MAX_DIM = 4096
METHODS = ("auto", "exact", "randomized")


class PCA:
    """Principal components of flattened images, fit in float64 where it fits for a stable yardstick.

    ``method="exact"`` eigendecomposes the smaller of the D x D covariance and the N x N Gram matrix, so it is exact
    for few large images too; ``"randomized"`` runs ``torch.pca_lowrank`` with ``oversample`` extra directions
    (default: max(20, k / 10)) and ``niter`` power iterations, enough to match the exact test error within 0.5%
    (tests/test_yardstick.py); ``"auto"`` takes the exact path while min(N, D) <= ``EXACT_MAX_DIM``.
    """

    def __init__(self, n_components: int, method: str = "auto", niter: int = 6, oversample: int | None = None) -> None:
        if n_components <= 0:
            raise ValueError(f"PCA needs a positive number of components, got {n_components}")
        if method not in METHODS:
            raise ValueError(f"unknown PCA method {method!r}; choose one of {list(METHODS)}")
        self.n_components = n_components
        self.method = method
        self.niter = niter
        self.oversample = max(20, n_components // 10) if oversample is None else oversample
        self.mean: torch.Tensor | None = None
        self.components: torch.Tensor | None = None  # (D, k), orthonormal columns
        self.explained_variance: torch.Tensor | None = None

    def fit(self, x: torch.Tensor) -> PCA:
        """Fit on (N, ...) images; they are flattened to (N, D)."""
        n, dim = x.flatten(1).shape
        k = self.n_components
        if k > min(n, dim):
            raise ValueError(f"PCA with {k} components needs at least {k} samples and dimensions; got {n}x{dim}")
        exact = self.method == "exact" or (self.method == "auto" and min(n, dim) <= EXACT_MAX_DIM)
        # float64 for a stable exact yardstick; the randomized path (many big images) stays float32 to halve memory
        x = x.flatten(1).double() if exact else x.flatten(1).float()
        self.mean = x.mean(0)
        centered = x - self.mean
        del x
        if exact:
            self.components, self.explained_variance = _exact_components(centered, k)
        else:
            q = min(k + self.oversample, n, dim)
            _, s, v = torch.pca_lowrank(centered, q=q, center=False, niter=self.niter)
            self.components, self.explained_variance = v[:, :k], s[:k] ** 2 / max(n - 1, 1)
        return self

    def _check_fitted(self) -> None:
        if self.components is None:
            raise RuntimeError("PCA is not fitted yet; call fit() first")

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        self._check_fitted()
        return ((x.flatten(1).to(self.mean.dtype) - self.mean) @ self.components).float()

    def decode(self, z: torch.Tensor, shape: tuple[int, ...], clip: bool = False) -> torch.Tensor:
        """Images from codes; ``clip`` keeps them in [0, 1] like the images (and an AE's sigmoid output)."""
        self._check_fitted()
        x_hat = (z.to(self.mean.dtype) @ self.components.T + self.mean).float().view(-1, *shape)
        return x_hat.clamp_(0.0, 1.0) if clip else x_hat

    def reconstruct(self, x: torch.Tensor, clip: bool = False) -> torch.Tensor:
        return self.decode(self.encode(x), tuple(x.shape[1:]), clip=clip)


def _exact_components(centered: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k principal axes (D, k) and variances by a symmetric eigendecomposition of the smaller Gram matrix."""
    n, dim = centered.shape
    if dim <= n:
        eigvals, eigvecs = torch.linalg.eigh(centered.T @ centered)
        order = torch.argsort(eigvals, descending=True)[:k]
        axes = eigvecs[:, order]
    else:  # few, large images: the N x N Gram matrix has the same nonzero spectrum; map its vectors back to pixels
        eigvals, eigvecs = torch.linalg.eigh(centered @ centered.T)
        order = torch.argsort(eigvals, descending=True)[:k]
        axes = centered.T @ eigvecs[:, order]
        axes = axes / axes.norm(dim=0, keepdim=True).clamp_min(1e-12)
    return axes, eigvals[order].clamp_min(0) / max(n - 1, 1)


@dataclass
class PCAScores:
    mse: float
    psnr: float
    ssim: float
    mse_clipped: float
    psnr_clipped: float
    ssim_clipped: float

    def as_metrics(self, prefix: str) -> dict[str, float]:
        """``{prefix}mse``, ``{prefix}mse_clipped``, ... as logged and written to results.json."""
        return {
            f"{prefix}{name}{suffix}": getattr(self, name + suffix)
            for suffix in ("", "_clipped")
            for name in ("mse", "psnr", "ssim")
        }


def psnr_of_mse(mse: float) -> float:
    """PSNR of a pooled MSE on [0, 1] images, as torchmetrics; infinite for a perfect reconstruction."""
    return math.inf if mse <= 0 else 10.0 * math.log10(1.0 / mse)


def evaluate_pca(pca: PCA, images_uint8: torch.Tensor, batch_size: int = 1024) -> PCAScores:
    """Mean MSE, PSNR and SSIM of classic and of clipped PCA reconstructions over a uint8 image set, batch-weighted
    like torchmetrics."""
    sums = {"sq": 0.0, "sq_clipped": 0.0, "ssim": 0.0, "ssim_clipped": 0.0}
    n_pixels, n_images = 0, 0
    for x in iterate_float_batches(images_uint8, batch_size):
        x_hat = pca.reconstruct(x)
        for suffix, rec in (("", x_hat), ("_clipped", x_hat.clamp(0.0, 1.0))):
            sums["sq" + suffix] += float(((rec - x) ** 2).sum())
            sums["ssim" + suffix] += float(ssim_per_image(rec, x).sum()) if min(x.shape[-2:]) > 5 else math.nan
        n_pixels += x.numel()
        n_images += len(x)
    if n_images == 0:
        raise ValueError("cannot score PCA on an empty image set")
    mse, mse_clipped = sums["sq"] / n_pixels, sums["sq_clipped"] / n_pixels
    return PCAScores(
        mse=mse,
        psnr=psnr_of_mse(mse),
        ssim=sums["ssim"] / n_images,
        mse_clipped=mse_clipped,
        psnr_clipped=psnr_of_mse(mse_clipped),
        ssim_clipped=sums["ssim_clipped"] / n_images,
    )


def fit_and_score_pca(
    datamodule: Any,
    k: int,
    max_fit_samples: int,
    probe_train_samples: int,
    probe_max_iter: int,
    seed: int,
) -> tuple[PCA, dict[str, float]]:
    """PCA-k fit on (a seeded subset of) a data module's train split, its val/test reconstruction metrics and the
    accuracy of a probe on its codes; the data module needs no Trainer, only its ``splits``."""
    requested_k = k
    train = split_of(datamodule, "train")
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
        images, _ = split_of(datamodule, split).take()
        metrics |= evaluate_pca(pca, images).as_metrics(f"pca/{split}_")
    probe_x, probe_y = train.take(seeded_subset(len(train), probe_train_samples, seed))
    if len(torch.unique(probe_y)) < 2:  # unlabelled data (e.g. a reducer fit without y): nothing to probe
        return pca, metrics | {"pca/probe_acc": math.nan, "pca/probe_test_acc": math.nan}
    probe = fit_probe(encode_images(pca.encode, probe_x), probe_y, max_iter=probe_max_iter)
    for split, key in (("val", "pca/probe_acc"), ("test", "pca/probe_test_acc")):
        images, labels = split_of(datamodule, split).take()
        metrics[key] = float(probe.score(encode_images(pca.encode, images).numpy(), labels.numpy()))
    return pca, metrics


def yardstick_suffix(output_in_unit_range: bool) -> str:
    """Which PCA a model is measured against: clipped PCA ("_clipped") for a model whose output is squashed into
    [0, 1], classic PCA ("") for one with an unbounded (e.g. linear) output."""
    return "_clipped" if output_in_unit_range else ""


def yardstick_name(metrics: dict[str, float]) -> str:
    """'clipped PCA-k' or 'PCA-k', as the comparison in ``metrics`` was made."""
    clipped = metrics.get("pca/yardstick_clipped", 0.0) > 0
    return f"{'clipped ' if clipped else ''}PCA-{int(metrics['pca/k'])}"


def compare_with_pca(metrics: dict[str, float], output_in_unit_range: bool) -> dict[str, float]:
    """The AE-vs-PCA figures from a run's test and PCA metrics: the ratio against the fair yardstick (clipped PCA
    for a [0, 1]-bounded AE, classic PCA for an unbounded one) and against each PCA, named so nobody mixes them."""
    suffix = yardstick_suffix(output_in_unit_range)
    ae = metrics["test/mse"]
    return {
        "pca/yardstick_clipped": float(bool(suffix)),
        **{f"pca/test_{m}_yardstick": metrics[f"pca/test_{m}{suffix}"] for m in ("mse", "psnr", "ssim")},
        "ae_over_pca_test_mse": mse_ratio(ae, metrics[f"pca/test_mse{suffix}"]),
        "ae_over_pca_classic_test_mse": mse_ratio(ae, metrics["pca/test_mse"]),
        "ae_over_pca_clipped_test_mse": mse_ratio(ae, metrics["pca/test_mse_clipped"]),
    }


def mse_ratio(ae: float, pca: float) -> float:
    """ae / pca; when PCA reconstructs exactly (images that vary in fewer than k directions, e.g. constant ones):
    1 if the AE does too, else infinity."""
    if pca > 0:
        return ae / pca
    return 1.0 if ae <= 0 else math.inf


def check_yardstick_size(k: int, image_shape: Sequence[int], setting: str = "model.latent_dim") -> None:
    """Refuse a code size PCA cannot match: more components than each image has values."""
    dim = math.prod(image_shape)
    if k > dim:
        raise ValueError(
            f"{setting}={k} is more than the {dim} values of each image ({list(image_shape)}): such a code can copy "
            f"the image rather than compress it, and PCA (the yardstick of every run) has at most {dim} components. "
            f"Choose {setting} below {dim}."
        )


def ae_vs_pca_line(metrics: Mapping[str, float]) -> str:
    """The one line train.py and evaluate.py print: the AE's test MSE against its PCA yardstick's."""
    ae, pca, name = metrics["test/mse"], metrics["pca/test_mse_yardstick"], yardstick_name(metrics)
    line = f"AE test MSE {ae:.5f} | {name} test MSE {pca:.5f} | AE/PCA ratio {mse_ratio(ae, pca):.3f}"
    if pca <= 0:
        return f"{line} ({name} reconstructs these test images exactly: they vary in fewer than k directions)"
    ratio = mse_ratio(ae, pca)
    if abs(ratio - 1) < 0.005:
        return f"{line} (level: the AE's error is within 0.5% of {name}'s)"
    return f"{line} ({'the AE' if ratio < 1 else name} has the lower error)"
