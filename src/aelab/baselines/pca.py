"""PCA at the AE's code size: the linear yardstick that every run reports beside the autoencoder.

PCA is the optimal linear autoencoder under MSE, so a nonlinear AE earns its keep only by beating it.
Reconstructions are not clipped to [0, 1]: this is classic PCA, which a linear AE matches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torchmetrics.functional.image import structural_similarity_index_measure

from aelab.analysis.codes import iterate_float_batches

# Above this many pixels per image, the exact covariance eigendecomposition costs too much memory/time and a
# randomized low-rank SVD (torch.pca_lowrank) is used instead.
EXACT_MAX_DIM = 4096


class PCA:
    """Principal components of flattened images, fit in float64 for a stable yardstick."""

    def __init__(self, n_components: int) -> None:
        if n_components <= 0:
            raise ValueError(f"PCA needs a positive number of components, got {n_components}")
        self.n_components = n_components
        self.mean: torch.Tensor | None = None
        self.components: torch.Tensor | None = None  # (D, k), orthonormal columns
        self.explained_variance: torch.Tensor | None = None

    def fit(self, x: torch.Tensor) -> PCA:
        """Fit on (N, ...) images; they are flattened to (N, D)."""
        n, dim = x.flatten(1).shape
        # float64 for a stable yardstick where it fits; big images (e.g. 3x128x128) stay float32 to halve memory
        x = x.flatten(1).double() if dim <= EXACT_MAX_DIM else x.flatten(1).float()
        k = self.n_components
        if k > min(n, dim):
            raise ValueError(f"PCA with {k} components needs at least {k} samples and dimensions; got {n}x{dim}")
        self.mean = x.mean(0)
        centered = x - self.mean
        if dim <= EXACT_MAX_DIM:
            cov = centered.T @ centered / max(n - 1, 1)
            eigvals, eigvecs = torch.linalg.eigh(cov)
            order = torch.argsort(eigvals, descending=True)[:k]
            self.components, self.explained_variance = eigvecs[:, order], eigvals[order]
        else:
            _, s, v = torch.pca_lowrank(centered, q=min(k + 10, n, dim), center=False, niter=4)
            self.components, self.explained_variance = v[:, :k], s[:k] ** 2 / max(n - 1, 1)
        return self

    def _check_fitted(self) -> None:
        if self.components is None:
            raise RuntimeError("PCA is not fitted yet; call fit() first")

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        self._check_fitted()
        return ((x.flatten(1).to(self.mean.dtype) - self.mean) @ self.components).float()

    def decode(self, z: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        self._check_fitted()
        return (z.to(self.mean.dtype) @ self.components.T + self.mean).float().view(-1, *shape)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x), tuple(x.shape[1:]))


@dataclass
class PCAScores:
    mse: float
    psnr: float
    ssim: float


def evaluate_pca(pca: PCA, images_uint8: torch.Tensor, batch_size: int = 1024) -> PCAScores:
    """Mean MSE, PSNR and SSIM of PCA reconstructions over a uint8 image set, batch-weighted like torchmetrics."""
    sq_err, n_pixels, n_images, ssim_sum = 0.0, 0, 0, 0.0
    for x in iterate_float_batches(images_uint8, batch_size):
        x_hat = pca.reconstruct(x)
        sq_err += float(((x_hat - x) ** 2).sum())
        n_pixels += x.numel()
        n_images += len(x)
        ssim_sum += float(structural_similarity_index_measure(x_hat, x, data_range=1.0)) * len(x)
    mse = sq_err / n_pixels
    psnr = 10.0 * math.log10(1.0 / mse)  # as torchmetrics: PSNR of the pooled MSE
    return PCAScores(mse=mse, psnr=psnr, ssim=ssim_sum / n_images)
