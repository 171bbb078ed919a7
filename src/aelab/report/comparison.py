"""The report's "Which reducer?" section: the AE beside the baselines of ``report.baselines`` (PCA, kernel PCA,
UMAP, t-SNE) on the run's own train/test split, as a table (report.md, metrics.json) and a figure of each method's
test codes: the 2-D maps themselves at k=2, else a t-SNE of each method's codes (one neutral view for every method,
so none is drawn in another's axes)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import torch

from aelab.analysis.embeddings import tsne_2d
from aelab.baselines.compare import ComparisonData, MethodRow, compare_reducers, run_autoencoder
from aelab.baselines.reducers import ModelReducer
from aelab.checkpoints import run_dir_of
from aelab.data.splits import seeded_subset
from aelab.files import atomic_path

TSNE_POINTS = 2000  # test codes drawn per method when k > 2 (t-SNE takes seconds for this many)

COLUMNS = {  # score -> (column title, format)
    "test_mse": ("test MSE", ".5f"),
    "trustworthiness": ("trustworthiness", ".4f"),
    "knn_acc": ("5-NN acc", ".3f"),
    "probe_acc": ("probe acc", ".3f"),
    "silhouette": ("silhouette", ".3f"),
    "fit_seconds": ("fit s", ".1f"),
    "transform_1k_seconds": ("s per 1k new", ".3f"),
}


def cell(value: float, fmt: str) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:{fmt}}"


def comparison_markdown(rows: Sequence[MethodRow]) -> list[str]:
    """The table: one line per method, 'n/a' where a score does not apply, and each method's reason below it."""
    head = ["method", "k", "fit on", *(title for title, _ in COLUMNS.values())]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        values = [cell(row.scores.get(key, math.nan), fmt) for key, (_, fmt) in COLUMNS.items()]
        lines.append(f"| {row.label} | {row.k} | {row.n_fit:,} | " + " | ".join(values) + " |")
    notes = [f"- {row.label}: {row.note}" for row in rows if row.note]
    return lines + (["", *notes] if notes else [])


def two_d_view(codes: np.ndarray, seed: int = 0) -> np.ndarray:
    """The codes themselves when 2-D, else a seeded t-SNE of them: the same neutral view for every method (its own
    principal axes would favour the linear ones)."""
    if codes.shape[1] <= 2:
        return codes if codes.shape[1] == 2 else np.column_stack([codes[:, 0], np.zeros(len(codes))])
    return tsne_2d(codes, seed=seed, max_iter=500)


def reducer_figure(
    rows: Sequence[MethodRow], labels: np.ndarray, class_names: Sequence[str], path: Path, dpi: int = 110
) -> Path:
    """Side-by-side scatter plots of each method's test codes coloured by class (methods that did not run are left
    out)."""
    shown = [row for row in rows if row.test_codes is not None]
    subset = seeded_subset(len(labels), TSNE_POINTS, 0).numpy()  # t-SNE of at most this many codes per method
    labels = labels[subset]
    fig, axes = plt.subplots(1, max(1, len(shown)), figsize=(3.3 * max(1, len(shown)), 3.5), squeeze=False)
    cmap = plt.get_cmap("tab10" if len(class_names) <= 10 else "tab20")
    for ax, row in zip(axes[0], shown):
        xy = two_d_view(row.test_codes[subset])
        for c in np.unique(labels):
            at = labels == c
            dot = 2 if len(labels) <= 3000 else 0.4
            ax.scatter(xy[at, 0], xy[at, 1], s=dot, color=cmap(int(c) % cmap.N), label=class_names[int(c)])
        view = "" if row.k == 2 else " (t-SNE of the codes)"
        ax.set_title(f"{row.label}, k={row.k}{view}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][-1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=6, markerscale=4, frameon=False)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png", bbox_inches="tight")
    plt.close(fig)
    return path


def comparison_metrics(rows: Sequence[MethodRow]) -> dict[str, float]:
    """``compare/<method>/<score>`` for metrics.json and the loggers."""
    out = {}
    for row in rows:
        out[f"compare/{row.method}/n_fit"] = float(row.n_fit)
        out |= {f"compare/{row.method}/{key}": float(value) for key, value in row.scores.items()}
    return out


def training_seconds(ckpt_path: str | Path) -> float:
    """Seconds the checkpoint's run trained (epoch_times.json beside it: the AE's 'fit'), NaN when not recorded."""
    record = run_dir_of(ckpt_path) / "epoch_times.json" if ckpt_path else None
    if record is None or not record.is_file():
        return math.nan
    try:
        return float(sum(json.loads(record.read_text())["epoch_seconds"]))
    except (ValueError, KeyError, TypeError):
        return math.nan


def run_comparison(
    model: torch.nn.Module,
    datamodule: Any,
    names: Sequence[str],
    settings: Mapping[str, Any],
    device: torch.device,
    out_dir: Path,
    dpi: int = 110,
    fit_seconds: float = math.nan,
) -> tuple[list[MethodRow], Path]:
    """The AE's row and one per baseline on the data module's train and test splits; the figure in ``out_dir``.
    The AE is not refit: ``fit_seconds`` is its run's training time."""
    train, test = datamodule.splits["train"], datamodule.splits["test"]
    data = ComparisonData.from_uint8(train.take(), test.take(), int(settings["trust_samples"]), int(settings["seed"]))
    reducer = ModelReducer(model, datamodule.shape, device)
    reducer.label = f"autoencoder ({getattr(model, 'name', type(model).__name__)})"
    k = reducer.k
    rows = [run_autoencoder(reducer, k, data, settings, len(data.train_x), fit_seconds)]
    rows += compare_reducers(data, k, names, settings)
    figure = reducer_figure(rows, data.test_y, list(datamodule.class_names), out_dir / "reducers.png", dpi)
    return rows, figure


def comparison_sentence(rows: Sequence[MethodRow]) -> str:
    """Which method keeps neighbours best, which separates classes best, which reconstructs best, with numbers."""

    def best(key: str, lowest: bool = False) -> str:
        scored = [r for r in rows if not math.isnan(r.scores.get(key, math.nan))]
        if not scored:
            return "none"
        top = (min if lowest else max)(scored, key=lambda r: r.scores[key])
        return f"{top.label} ({top.scores[key]:.4g})"

    return (
        f"On the same split at k={rows[0].k}: lowest test MSE {best('test_mse', lowest=True)}, highest "
        f"trustworthiness {best('trustworthiness')}, highest 5-NN accuracy {best('knn_acc')}; every method was fit on "
        "the training images (the 'fit on' column) and scored on the same test images."
    )
