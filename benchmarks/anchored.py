"""The PCA-anchored AE (model.anchor=pca) against the same net from scratch, where users start (issue 33).

    python -m benchmarks.anchored                       # every row, 3 seeds: run it alone on the machine
    python -m benchmarks.anchored --only photos_k32 --seeds 0

Rows (each from scratch and anchored, same epochs and settings, through train.py as a user runs it):
  - photos_k32: 300 real-photo patches (random 96x96 crops of scikit-learn's two sample photos, as JPEG) at 64x64,
    conv_strided with a 32-dim code, up to 100 epochs with early stopping (data=image_folder: 216 / 24 / 60 images);
  - mnist_deep_k2 / k8 / k30: the embedded 5,000-digit MNIST sample, Hinton's deep dense net with its defaults
    (``model=deep_dense data.source=sample``, 10 epochs);
  - mnist_default: the default run (``make train``: conv_strided, k=20, 10 epochs);
  - fashion_k2 / k16 / k64: the full Fashion-MNIST with its presets (``experiment=fashion_k2``, ``fashion_k64`` and
    ``fashion_k64 model.latent_dim=16``), their own epochs unless ``--fashion-epochs N`` shortens the schedule
    (the cosine decay follows it) for both variants alike. These are not in the default row set (20-35 minutes a
    run on 2 CPU cores): name them with --only.
Per run: test MSE over clipped PCA-k's on the same test images, the probe accuracy of the codes and their 5-NN
accuracy (among the test codes the run writes, 5-fold), seconds, and whether the PCA start was selected. Writes --results (benchmarks/results/anchored.json).
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import cv2
import numpy as np

from benchmarks.common import ROOT, add_paths, command, fashion_dir, run_train, write_record

SAMPLE = ["data=mnist", "data.source=sample", "data.download=false"]
ROWS = {
    "photos_k32": ["model=conv_strided", "model.latent_dim=32", "data.image_size=64", "trainer.max_epochs=100"],
    "mnist_deep_k2": [*SAMPLE, "model=deep_dense", "model.latent_dim=2"],
    "mnist_deep_k8": [*SAMPLE, "model=deep_dense", "model.latent_dim=8"],
    "mnist_deep_k30": [*SAMPLE, "model=deep_dense", "model.latent_dim=30"],
    "mnist_default": [*SAMPLE],
}
FASHION_ROWS = {
    "fashion_k2": ["experiment=fashion_k2"],
    "fashion_k16": ["experiment=fashion_k64", "model.latent_dim=16", "run_group=fashion_k16"],
    "fashion_k64": ["experiment=fashion_k64"],
}
FIGURES = {"ae_over_pca": "ae_over_pca_test_mse", "probe_acc": "probe/test_acc",
           "pca_probe_acc": "pca/probe_test_acc", "pca_start_selected": "selection/pca_start"}  # fmt: skip


def photo_folder(folder: Path, n: int = 300, side: int = 96) -> Path:
    """``n`` real-photo JPEGs: random crops of scikit-learn's sample photos, one class folder per photo."""
    from sklearn.datasets import load_sample_images

    if folder.is_dir():
        return folder
    rng = np.random.default_rng(0)
    photos = load_sample_images()
    for i in range(n):
        which = i % len(photos.images)
        image = photos.images[which]
        top, left = rng.integers(0, image.shape[0] - side), rng.integers(0, image.shape[1] - side)
        crop = np.ascontiguousarray(image[top : top + side, left : left + side, ::-1])  # RGB -> OpenCV's BGR
        path = folder / Path(photos.filenames[which]).stem / f"{i:03d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), crop, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return folder


def test_knn(run_dir: Path) -> float | None:
    """5-NN accuracy of the test codes the run wrote (test_codes.csv), each voted by its test neighbours (5-fold)."""
    import pandas as pd
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    table = pd.read_csv(run_dir / "test_codes.csv")
    codes = table[[c for c in table.columns if c.startswith("z")]].to_numpy()
    if table["label"].nunique() < 2:
        return None
    return float(cross_val_score(KNeighborsClassifier(5), codes, table["label"].to_numpy(), cv=5).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(ROWS | FASHION_ROWS), help="these rows only")
    parser.add_argument("--fashion-epochs", type=int, help="the Fashion rows' max_epochs (default: the presets')")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    add_paths(parser, "anchored", fashion=True)
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "anchored.json")
    args = parser.parse_args()
    photos = ["data=image_folder", f"data.root={photo_folder(args.out / 'photos')}", f"data.cache_dir={args.out}/cache"]
    epochs = [f"trainer.max_epochs={args.fashion_epochs}"] if args.fashion_epochs else []
    fashion = [f"data.data_dir={fashion_dir(args.fashion_dir)}", "data.download=false", *epochs]
    record: dict = {"command": command(), "rows": {}}
    for row in args.only or list(ROWS):
        data = photos if row.startswith("photos") else fashion if row in FASHION_ROWS else []
        base = [*(ROWS | FASHION_ROWS)[row], *data, "logger=csv", "callbacks.progress_bar=null"]
        for variant, anchor in (("scratch", "null"), ("anchored", "pca")):
            runs = []
            for seed in args.seeds:
                run_dir = args.out / f"{row}_{variant}_{seed}"
                results, seconds = run_train([*base, f"model.anchor={anchor}", f"seed={seed}"], run_dir)
                figures = {k: results.get(v) for k, v in FIGURES.items()} | {"knn_acc": test_knn(run_dir)}
                runs.append({"seed": seed, "seconds": seconds} | figures)
                print(row, variant, runs[-1], flush=True)
            mean = {k: statistics.fmean(r[k] for r in runs if r[k] is not None) if any(r[k] is not None for r in runs)
                    else None for k in ("ae_over_pca", "knn_acc", "probe_acc", "seconds")}  # fmt: skip
            record["rows"].setdefault(row, {"overrides": base})[variant] = {"runs": runs, "mean": mean}
    write_record(args.results, record)
    for row, variants in record["rows"].items():
        line = "  ".join(f"{v} {variants[v]['mean']['ae_over_pca']:.3f}x" for v in ("scratch", "anchored"))
        print(f"{row:16s} {line}")


if __name__ == "__main__":
    main()
