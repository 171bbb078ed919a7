"""How kernel PCA's learned inverse was set up for the comparison: a small grid of gamma (RBF width) and alpha (the
ridge of the pre-image regression), each scored on held-out training images, never on the test set.

    python -m benchmarks.kernel_pca_grid

Fits scikit-learn's KernelPCA (rbf, fit_inverse_transform=True) on the first 5,000 Fashion-MNIST training images
(the comparison's subsample size) and measures the reconstruction MSE of the next 2,000 training images, at k=2 and
k=64. Writes benchmarks/results/kernel_pca_grid.json; conf/evaluate.yaml takes the best setting.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from sklearn.decomposition import KernelPCA

from aelab.data.idx import read_idx
from benchmarks.common import ROOT, add_paths, fashion_dir, machine, write_record

GAMMAS = [None, 0.01, 0.03]  # None: scikit-learn's 1 / n_features
ALPHAS = [1e-3, 1e-2, 1e-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_paths(parser, fashion=True)
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "kernel_pca_grid.json")
    args = parser.parse_args()
    images = read_idx(fashion_dir(args.fashion_dir) / "train-images-idx3-ubyte.gz").reshape(-1, 784)[:7000] / 255.0
    fit, held_out = images[:5000], images[5000:]
    rows = []
    for k in (2, 64):
        for gamma in GAMMAS:
            for alpha in ALPHAS:
                started = time.perf_counter()
                kpca = KernelPCA(
                    k, kernel="rbf", gamma=gamma, alpha=alpha, fit_inverse_transform=True,
                    eigen_solver="randomized", random_state=0,
                ).fit(fit)  # fmt: skip
                recon = kpca.inverse_transform(kpca.transform(held_out))
                mse = float(((recon - held_out) ** 2).mean())
                rows.append({"k": k, "gamma": gamma, "alpha": alpha, "held_out_mse": mse,
                             "seconds": time.perf_counter() - started})  # fmt: skip
                print(json.dumps(rows[-1]), flush=True)
    write_record(args.results, {"machine": machine(), "rows": rows})


if __name__ == "__main__":
    main()
