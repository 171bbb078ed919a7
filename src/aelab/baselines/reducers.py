"""The reducers an autoencoder is weighed against, behind one small interface.

Each baseline is fit on flattened training images in [0, 1] (float32, (N, D)), maps new images to k-dim codes, and
maps codes back to images where the method has an inverse. The libraries do the work: PCA (aelab's own, as every
run's yardstick: baselines/pca.py), kernel PCA with a learned inverse (scikit-learn, ``fit_inverse_transform``),
UMAP (umap-learn, ``inverse_transform``) and t-SNE (openTSNE, embedding and ``transform`` of new points, no inverse).
Where a method cannot run at the asked k or size it raises ``BaselineCannotRun`` saying why and what to set, so a
comparison shows the reason rather than a wrong number.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from aelab.baselines.batching import in_batches, slices
from aelab.baselines.pca import PCA
from aelab.errors import AELabError


class BaselineCannotRun(AELabError, RuntimeError):
    """A method that cannot run with these settings (k, data size, memory); the message says what to set."""


class Reducer:
    """The one interface every reducer here shares, on flat float32 arrays (N, D): fit(train) -> self;
    transform(x) -> (n, k) codes; inverse_transform(codes) -> (n, D) images, where ``has_inverse``. ``max_train`` is how many training images the method is fit on at most (None: all);
    ``max_inverse`` how many test images its (slow) inverse is scored on at most (None: all)."""

    name = "baseline"
    label = "baseline"
    has_inverse = True
    max_train: int | None = None
    max_inverse: int | None = None

    def __init__(self, k: int, seed: int = 0) -> None:
        self.k = int(k)
        self.seed = int(seed)

    def check(self, n_train: int, dim: int) -> None:
        """Raise BaselineCannotRun before fitting when this method cannot run on ``n_train`` images of ``dim``."""
        if self.k >= min(n_train, dim):
            raise BaselineCannotRun(f"{self.label} with k={self.k} needs more than k training images and pixels")

    def fit(self, x: np.ndarray) -> Reducer:
        raise NotImplementedError

    def transform(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def inverse_transform(self, codes: np.ndarray) -> np.ndarray:
        raise BaselineCannotRun(f"{self.label} has no inverse: it embeds images but cannot map codes back")


class PCAReducer(Reducer):
    """PCA-k, its reconstructions clipped to [0, 1] (``clip``, the AE's fair yardstick) or not (classic)."""

    def __init__(self, k: int, seed: int = 0, clip: bool = True) -> None:
        super().__init__(k, seed)
        self.clip = clip
        self.name, self.label = ("pca", "PCA (clipped)") if clip else ("pca_classic", "PCA (classic)")

    def fit(self, x: np.ndarray) -> PCAReducer:
        self.pca = PCA(self.k).fit(torch.from_numpy(x))
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        return self.pca.encode(torch.from_numpy(x)).numpy()

    def inverse_transform(self, codes: np.ndarray) -> np.ndarray:
        dim = self.pca.components.shape[0]
        return self.pca.decode(torch.from_numpy(codes), (dim,), clip=self.clip).numpy()


class ModelReducer(Reducer):
    """A trained model's ``encode``/``decode`` behind the same interface (fit does nothing: it is trained), in
    batches on the model's device."""

    name, label = "autoencoder", "autoencoder"

    def __init__(self, model: Any, shape: Sequence[int], device: torch.device | str = "cpu", batch_size: int = 1024):
        super().__init__(int(model.latent_dim))
        self.model, self.shape, self.device, self.batch_size = model, tuple(shape), device, batch_size

    def fit(self, x: np.ndarray) -> ModelReducer:
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        flat = (torch.from_numpy(b).view(-1, *self.shape) for b in slices(x, self.batch_size))
        return in_batches(self.model.encode, flat, self.device, (0, self.k)).numpy()

    def inverse_transform(self, codes: np.ndarray) -> np.ndarray:
        images = in_batches(self.model.decode, slices(codes, self.batch_size), self.device)
        return images.flatten(1).numpy()


def available_memory_bytes() -> int:
    """Memory the OS could give now (Linux: MemAvailable), or the physical total where that is unknown."""
    try:
        with open("/proc/meminfo") as f:
            fields = dict(line.split(":", 1) for line in f)
        return int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


class KernelPCAReducer(Reducer):
    """RBF kernel PCA with scikit-learn's learned inverse (kernel ridge from codes back to pixels).

    It holds n x n float64 kernel matrices, so it is fit on at most ``max_train`` images (a seeded subsample)."""

    name, label = "kernel_pca", "kernel PCA (RBF)"
    MATRICES = 4  # n x n float64 matrices alive at once: the kernel, its centred copy, eigenvectors, the ridge solve

    def __init__(
        self, k: int, seed: int = 0, max_train: int | None = 5000, gamma: float | None = None, alpha: float = 1e-3
    ) -> None:
        super().__init__(k, seed)
        self.max_train, self.gamma, self.alpha = max_train, gamma, alpha

    def check(self, n_train: int, dim: int) -> None:
        super().check(n_train, dim)
        need, free = self.MATRICES * 8 * n_train**2, available_memory_bytes()
        if need > 0.8 * free:
            fits = int((0.8 * free / (self.MATRICES * 8)) ** 0.5)
            raise BaselineCannotRun(
                f"kernel PCA on {n_train:,} images needs about {need / 2**30:.1f} GiB for its {n_train:,} x {n_train:,} "
                f"kernel matrices, and {free / 2**30:.1f} GiB is free; fit it on a subsample: set "
                f"report.compare.methods.kernel_pca.max_train to {fits:,} or fewer."
            )

    def fit(self, x: np.ndarray) -> KernelPCAReducer:
        from sklearn.decomposition import KernelPCA

        self.model = KernelPCA(
            n_components=self.k,
            kernel="rbf",
            gamma=self.gamma,
            alpha=self.alpha,
            fit_inverse_transform=True,
            eigen_solver="randomized" if self.k < len(x) // 10 else "auto",
            random_state=self.seed,
        ).fit(x)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        return self.model.transform(x).astype(np.float32)

    def inverse_transform(self, codes: np.ndarray) -> np.ndarray:
        return self.model.inverse_transform(codes).astype(np.float32)


def _optional(module: str, extra: str = "compare") -> Any:
    try:
        return __import__(module)
    except ImportError as err:
        raise BaselineCannotRun(
            f"{module} is not installed; pip install 'aelab[{extra}]' (or pip install -e '.[dev]') to compare with it"
        ) from err


class UMAPReducer(Reducer):
    """UMAP (umap-learn): fit, ``transform`` of new points, and ``inverse_transform``, which interpolates in a
    Delaunay triangulation of the embedding and so exists only for low k (below ``INVERSE_MAX_K``). That inverse
    walks the triangulation in Python for each point (a fraction of a second per image at 54,000 training images),
    so its reconstruction is scored on ``max_inverse`` test images."""

    name, label = "umap", "UMAP"
    INVERSE_MAX_K = 8  # umap-learn warns from 8 on; a Delaunay triangulation of 54k points in 16-D does not finish

    def __init__(
        self,
        k: int,
        seed: int = 0,
        max_train: int | None = None,
        n_neighbors: int = 15,
        min_dist: float = 0.1,
        max_inverse: int | None = 1000,
    ) -> None:
        super().__init__(k, seed)
        self.max_train, self.n_neighbors, self.min_dist = max_train, n_neighbors, min_dist
        self.max_inverse = max_inverse

    @property
    def has_inverse(self) -> bool:  # type: ignore[override]
        return self.k < self.INVERSE_MAX_K

    def fit(self, x: np.ndarray) -> UMAPReducer:
        umap = _optional("umap")
        self.model = umap.UMAP(
            n_components=self.k, n_neighbors=self.n_neighbors, min_dist=self.min_dist, random_state=self.seed
        ).fit(x)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        return self.model.transform(x).astype(np.float32)

    def inverse_transform(self, codes: np.ndarray) -> np.ndarray:
        if not self.has_inverse:
            raise BaselineCannotRun(
                f"UMAP's inverse_transform triangulates the {self.k}-D embedding (Delaunay), which does not finish "
                f"above {self.INVERSE_MAX_K - 1} dimensions; its reconstruction is compared at k < {self.INVERSE_MAX_K}"
            )
        return self.model.inverse_transform(codes).astype(np.float32)


class TSNEReducer(Reducer):
    """t-SNE (openTSNE, FFT-accelerated): an embedding of the training images and ``transform`` of new points
    (each placed among its neighbours with the training map held fixed); no inverse."""

    name, label = "tsne", "t-SNE"
    has_inverse = False

    def __init__(self, k: int, seed: int = 0, max_train: int | None = None, perplexity: float = 30.0) -> None:
        super().__init__(k, seed)
        self.max_train, self.perplexity = max_train, perplexity

    def check(self, n_train: int, dim: int) -> None:
        super().check(n_train, dim)
        if self.k > 2:
            raise BaselineCannotRun(
                f"t-SNE maps to 1 or 2 dimensions (openTSNE's FFT gradients); at k={self.k} it would need Barnes-Hut "
                "trees in k dimensions, whose cost grows as 2^k. Compare t-SNE at k=2 (a model with latent_dim=2), "
                "or leave tsne out of report.baselines."
            )

    def fit(self, x: np.ndarray) -> TSNEReducer:
        open_tsne = _optional("openTSNE")
        tsne = open_tsne.TSNE(
            n_components=self.k, perplexity=self.perplexity, random_state=self.seed, n_jobs=os.cpu_count() or 1
        )
        self.embedding = tsne.fit(x)
        # openTSNE's transform first centres the training map in place (on its bounding box); centre it now, so the
        # training codes (kNN, probe) and the transformed new points share one frame whatever the call order
        self.embedding -= (self.embedding.max(axis=0) + self.embedding.min(axis=0)) / 2
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.embedding.transform(x), dtype=np.float32)


BASELINES: dict[str, Callable[..., Reducer]] = {
    "pca": lambda k, seed=0, **kw: PCAReducer(k, seed, clip=True),
    "pca_classic": lambda k, seed=0, **kw: PCAReducer(k, seed, clip=False),
    "kernel_pca": KernelPCAReducer,
    "umap": UMAPReducer,
    "tsne": TSNEReducer,
}


def check_baseline_names(names: object) -> list[str]:
    """``report.baselines`` as a list of known names, or a ValueError that lists the available ones."""
    if isinstance(names, str):
        names = [names]
    unknown = [n for n in names if n not in BASELINES]
    if unknown:
        raise ValueError(
            f"unknown baseline(s) {unknown} in report.baselines; available: {', '.join(BASELINES)} "
            "(e.g. report.baselines=[pca,kernel_pca,umap,tsne])"
        )
    return list(names)


def build_baseline(name: str, k: int, seed: int = 0, settings: Mapping[str, Any] | None = None) -> Reducer:
    """The baseline called ``name`` at code size k, with its settings (e.g. ``{"max_train": 5000}``)."""
    check_baseline_names([name])
    return BASELINES[name](k, seed, **dict(settings or {}))
