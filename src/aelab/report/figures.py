"""The report's figures: each function draws one PNG (matplotlib, Agg backend, no display) and returns its path.

Images come in as float tensors (N, C, H, W) in [0, 1]; panels of images are one grid each (aelab.panels, as the
training callbacks log them), labelled by row, so they stay small and readable at the report's dpi.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: never needs a display

import matplotlib.pyplot as plt
import numpy as np
import torch

from aelab.files import atomic_path
from aelab.panels import PADDING, image_grid

WRONG = torch.tensor([0.85, 0.1, 0.1])  # frame colour of a retrieved image of another class


def _save(fig: plt.Figure, path: Path, dpi: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_path(path) as tmp:  # a full disk leaves no half-written PNG behind
            fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)
    return path


def _show_rows(ax: plt.Axes, grid: torch.Tensor, row_names: Sequence[str], cell: int) -> None:
    """Draw a grid with one name per row on the left axis."""
    ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.set_yticks([PADDING + i * (cell + PADDING) + cell / 2 for i in range(len(row_names))], row_names, fontsize=8)
    ax.set_xticks([])
    for side in ax.spines.values():
        side.set_visible(False)


def _image_panel(rows: Sequence[torch.Tensor], row_names: Sequence[str], title: str, path: Path, dpi: int) -> Path:
    width_px, height_px = len(rows[0]) * rows[0].shape[-1], len(rows) * rows[0].shape[-2]
    scale = 9.0 / max(width_px, 1)  # 9 inches wide, whatever the image size
    fig, ax = plt.subplots(figsize=(9.0, max(1.2, height_px * scale + 0.5)))
    _show_rows(ax, image_grid(rows), row_names, rows[0].shape[-2])
    ax.set_title(title, fontsize=9)
    return _save(fig, path, dpi)


def reconstructions(
    originals: torch.Tensor, ae: torch.Tensor, pca: torch.Tensor, k: int, path: Path, dpi: int = 110
) -> Path:
    """Test images, their AE reconstructions and PCA-k's, one row each."""
    return _image_panel(
        [originals, ae, pca], ["test image", "AE", f"PCA-{k}"], "Reconstructions of test images", path, dpi
    )


def tsne_maps(
    ae_xy: np.ndarray,
    pca_xy: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    titles: tuple[str, str],
    path: Path,
    dpi: int = 110,
) -> Path:
    """Two t-SNE scatter plots, AE codes and PCA codes, coloured by class."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    cmap = plt.get_cmap("tab10" if len(class_names) <= 10 else "tab20")
    for ax, xy, title in zip(axes, (ae_xy, pca_xy), titles):
        for c in np.unique(labels):
            at = labels == c
            ax.scatter(xy[at, 0], xy[at, 1], s=4, color=cmap(int(c) % cmap.N), label=class_names[int(c)])
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, markerscale=3, frameon=False)
    return _save(fig, path, dpi)


def latent_averages(
    a: torch.Tensor,
    b: torch.Tensor,
    ae_mid: torch.Tensor,
    pca_mid: torch.Tensor,
    ae_class_means: torch.Tensor,
    pca_class_means: torch.Tensor,
    path: Path,
    dpi: int = 110,
) -> Path:
    """Left: pairs of images and the decoded mean of their codes (AE, PCA); right: decoded class-mean codes."""
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(11, 3.2), gridspec_kw={"width_ratios": [len(a), len(ae_class_means)]}
    )
    cell = a.shape[-2]
    _show_rows(left, image_grid([a, b, ae_mid, pca_mid]), ["image A", "image B", "AE mean code", "PCA mean code"], cell)
    left.set_title("decode(mean(code A, code B))", fontsize=9)
    _show_rows(right, image_grid([ae_class_means, pca_class_means]), ["AE", "PCA"], cell)
    right.set_title("decoded mean code of each class", fontsize=9)
    return _save(fig, path, dpi)


def interpolation_strips(ae_paths: torch.Tensor, pca_paths: torch.Tensor, path: Path, dpi: int = 110) -> Path:
    """For each pair, the decoded straight path from code A to code B, AE row above PCA row."""
    rows, names = [], []
    for i in range(len(ae_paths)):
        rows += [ae_paths[i], pca_paths[i]]
        names += [f"pair {i + 1} AE", f"pair {i + 1} PCA"]
    return _image_panel(rows, names, "Decoded codes along the line from image A (left) to image B (right)", path, dpi)


def anomaly_histograms(
    ae_errors: torch.Tensor,
    pca_errors: torch.Tensor,
    is_anomaly: torch.Tensor,
    titles: tuple[str, str],
    anomaly_name: str,
    path: Path,
    dpi: int = 110,
) -> Path:
    """Per-image reconstruction error of normal and anomalous test images, AE and PCA side by side."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    mask = is_anomaly.numpy().astype(bool)
    for ax, errors, title in zip(axes, (ae_errors.numpy(), pca_errors.numpy()), titles):
        bins = np.linspace(0.0, float(np.quantile(errors, 0.995)), 50)
        ax.hist(errors[~mask], bins=bins, density=True, alpha=0.6, label="other classes")
        ax.hist(errors[mask], bins=bins, density=True, alpha=0.6, label=anomaly_name)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("per-image reconstruction MSE", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel("density", fontsize=8)
    axes[1].legend(fontsize=8, frameon=False)
    return _save(fig, path, dpi)


def _frame_wrong(grid: torch.Tensor, wrong: torch.Tensor, cell_h: int, cell_w: int) -> torch.Tensor:
    """Colour the frame of the cells marked in ``wrong`` (rows x columns of the grid)."""
    grid = grid.clone()
    for r, c in wrong.nonzero().tolist():
        y, x = r * (cell_h + PADDING), c * (cell_w + PADDING)
        inner = grid[:, y + PADDING : y + PADDING + cell_h, x + PADDING : x + PADDING + cell_w].clone()
        grid[:, y : y + cell_h + 2 * PADDING, x : x + cell_w + 2 * PADDING] = WRONG.view(3, 1, 1)
        grid[:, y + PADDING : y + PADDING + cell_h, x + PADDING : x + PADDING + cell_w] = inner
    return grid


def retrieval_examples(
    queries: torch.Tensor,
    ae_neighbours: torch.Tensor,
    pca_neighbours: torch.Tensor,
    ae_wrong: torch.Tensor,
    pca_wrong: torch.Tensor,
    title: str,
    path: Path,
    dpi: int = 110,
) -> Path:
    """Each query (first column) with its nearest training images by AE code and by PCA code; red frames mark
    neighbours of another class."""
    rows, names, wrong = [], [], []
    for i in range(len(queries)):
        for method, neighbours, miss in (("AE", ae_neighbours, ae_wrong), ("PCA", pca_neighbours, pca_wrong)):
            rows.append(torch.cat([queries[i : i + 1], neighbours[i]]))
            names.append(f"query {i + 1} {method}")
            wrong.append(torch.cat([torch.zeros(1, dtype=torch.bool), miss[i]]))
    h, w = queries.shape[-2:]
    grid = _frame_wrong(image_grid(rows), torch.stack(wrong), h, w)
    fig, ax = plt.subplots(figsize=(9.0, max(1.5, 9.0 * len(rows) * h / (len(rows[0]) * w) + 0.5)))
    _show_rows(ax, grid, names, h)
    ax.set_title(title, fontsize=9)
    return _save(fig, path, dpi)


def cnn_accuracies(accuracies: Mapping[str, float], path: Path, dpi: int = 110) -> Path:
    """Accuracy of the CNN on each kind of test input, as bars."""
    fig, ax = plt.subplots(figsize=(5.5, 3.0))
    names, values = list(accuracies), list(accuracies.values())
    bars = ax.bar(names, values, color=["0.5", "tab:blue", "tab:orange"][: len(names)])
    ax.bar_label(bars, labels=[f"{v:.3f}" for v in values], fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("test accuracy", fontsize=8)
    ax.set_title("A CNN trained on original images, shown ...", fontsize=9)
    ax.tick_params(labelsize=8)
    return _save(fig, path, dpi)


def compression_tradeoff(
    points: Mapping[str, tuple[float, float]], image_bytes: int, path: Path, dpi: int = 110
) -> Path:
    """Bytes per image against reconstruction MSE for each way of storing a code; the raw image is at MSE 0."""
    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    ax.scatter([image_bytes], [0.0], color="0.3", marker="s")
    ax.annotate(f"uint8 image ({image_bytes} B)", (image_bytes, 0.0), fontsize=7, ha="right", va="bottom")
    for (name, (size, mse)), color in zip(points.items(), ["tab:blue", "tab:blue", "tab:orange", "tab:orange"]):
        ax.scatter([size], [mse], color=color, marker="o" if "float32" in name else "^")
        ax.annotate(f"{name} ({size:g} B)", (size, mse), fontsize=7, xytext=(4, 2), textcoords="offset points")
    ax.set_xscale("log")
    sizes = sorted({image_bytes, *(size for size, _ in points.values())})
    ax.set_xticks(sizes, [f"{size:g}" for size in sizes])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlim(min(sizes) / 2, max(sizes) * 2)
    ax.set_xlabel("bytes per image (log scale)", fontsize=8)
    ax.set_ylabel("test reconstruction MSE", fontsize=8)
    ax.set_title("Storage vs error", fontsize=9)
    ax.tick_params(labelsize=7)
    return _save(fig, path, dpi)
