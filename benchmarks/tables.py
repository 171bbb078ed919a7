"""The autoencoder on numeric tables, beside PCA, kernel PCA and UMAP (issue 34), as a Python user runs it.

    python -m benchmarks.tables                        # every table, k=2 and a larger k, 3 AE seeds: run it alone
    python -m benchmarks.tables --only cancer --seeds 0

Tables that ship offline: scikit-learn's breast cancer (569 x 30, in their own units) and digits (1,797 x 64,
0-16), 10,000 Fashion-MNIST images as 784-column rows (0-255), and scanpy's pbmc68k_reduced (700 cells x 765
genes, log-normalised expression; ``pip install scanpy``). Each is split 80 / 20 (stratified, seed 0), columns
constant on the training rows are dropped (sklearn's VarianceThreshold, as the reducer's message says), and:
  - AE: ``AutoEncoderReducer(latent_dim=k, seed=s).fit(X_train, y_train)``, its defaults otherwise (deep_dense from
    PCA, standardised columns, 20 epochs; in memory);
  - PCA: StandardScaler then PCA-k (the same scaling: the fair linear baseline), and PCA-k on the raw columns;
  - kernel PCA (RBF, learned inverse) and UMAP on the standardised columns (UMAP's inverse only at k=2).
Per method: test MSE in the input's units and in standardised units, trustworthiness and 5-NN accuracy of the
test codes (5-NN votes among the training codes), fit seconds. Writes --results (benchmarks/results/tables.json).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from benchmarks.common import ROOT, add_paths, command, fashion_dir, write_record

KS = {"cancer": (2, 8), "digits": (2, 16), "fashion_rows": (2, 32), "pbmc": (2, 32)}


def load_table(name: str, fashion: Path) -> tuple[np.ndarray, np.ndarray]:
    """X (float64) and class labels of one benchmark table."""
    if name == "cancer":
        from sklearn.datasets import load_breast_cancer

        x, y = load_breast_cancer(return_X_y=True)
    elif name == "digits":
        from sklearn.datasets import load_digits

        x, y = load_digits(return_X_y=True)
    elif name == "fashion_rows":
        from aelab.data.idx import read_idx

        folder = fashion_dir(fashion)
        x = read_idx(folder / "train-images-idx3-ubyte.gz").reshape(60000, -1)[:10000]
        y = read_idx(folder / "train-labels-idx1-ubyte.gz")[:10000]
    else:
        import scanpy as sc

        data = sc.datasets.pbmc68k_reduced()
        x, y = (
            np.asarray(data.raw.X.todense() if hasattr(data.raw.X, "todense") else data.raw.X),
            data.obs["bulk_labels"],
        )
        y = np.unique(np.asarray(y).astype(str), return_inverse=True)[1]
    return np.asarray(x, dtype=np.float64), np.asarray(y)


def scores(
    name: str, codes: tuple, back: np.ndarray | None, test: np.ndarray, scale: np.ndarray, y: tuple, seconds: float
) -> dict:
    """MSE (input units and standardised), trustworthiness and 5-NN of one method's test codes."""
    from sklearn.manifold import trustworthiness
    from sklearn.neighbors import KNeighborsClassifier

    train_codes, test_codes = codes
    knn = KNeighborsClassifier(5).fit(train_codes, y[0]).score(test_codes, y[1])
    row = {"method": name, "knn_acc": float(knn), "fit_seconds": seconds,
           "trustworthiness": float(trustworthiness(test / scale, test_codes, n_neighbors=5))}  # fmt: skip
    if back is not None:
        row |= {
            "mse": float(((back - test) ** 2).mean()),
            "mse_standardised": float((((back - test) / scale) ** 2).mean()),
        }
    return row


def run_table(name: str, k: int, seeds: list[int], fashion: Path, overrides: list[str]) -> dict:
    from sklearn.decomposition import PCA
    from sklearn.feature_selection import VarianceThreshold
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import aelab
    from aelab.baselines.reducers import KernelPCAReducer, UMAPReducer

    x, y = load_table(name, fashion)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    keep = VarianceThreshold(0.0).fit(x_train)
    x_train, x_test = keep.transform(x_train), keep.transform(x_test)
    scaler = StandardScaler().fit(x_train)
    scale, labels = scaler.scale_, (y_train, y_test)
    rows = []

    def timed(fit):
        start = time.perf_counter()
        model = fit()
        return model, time.perf_counter() - start

    for seed in seeds:
        ae, seconds = timed(
            lambda seed=seed: aelab.AutoEncoderReducer(latent_dim=k, seed=seed, overrides=overrides).fit(
                x_train, y_train
            )
        )
        codes = (ae.transform(x_train), ae.transform(x_test))
        rows.append(
            scores("AE", codes, ae.inverse_transform(codes[1]), x_test, scale, labels, seconds) | {"seed": seed}
        )
    for label, pipe in (("PCA", make_pipeline(StandardScaler(), PCA(k))), ("PCA (raw columns)", PCA(k))):
        model, seconds = timed(lambda pipe=pipe: pipe.fit(x_train))
        codes = (model.transform(x_train), model.transform(x_test))
        rows.append(scores(label, codes, model.inverse_transform(codes[1]), x_test, scale, labels, seconds))
    z_train, z_test = scaler.transform(x_train), scaler.transform(x_test)
    for reducer in (KernelPCAReducer(k, seed=0), UMAPReducer(k, seed=0)):
        model, seconds = timed(lambda reducer=reducer: reducer.fit(z_train))
        codes = (model.transform(z_train), model.transform(z_test))
        inverse = getattr(model, "has_inverse", True)
        back = scaler.inverse_transform(model.inverse_transform(codes[1])) if inverse else None
        rows.append(scores(model.label, codes, back, x_test, scale, labels, seconds))
    return {"shape": list(x.shape), "columns_kept": int(x_train.shape[1]), "rows": rows}


def mean_rows(rows: list[dict]) -> list[dict]:
    """The AE's seeds as one row of means (and the spread of its MSE), then the other methods."""
    ae = [r for r in rows if r["method"] == "AE"]
    keys = [k for k in ae[0] if k not in ("method", "seed")]
    summary = {"method": f"AE (mean of {len(ae)} seeds)"} | {k: statistics.fmean(r[k] for r in ae) for k in keys}
    summary["mse_sd"] = statistics.pstdev(r["mse"] for r in ae)
    return [summary, *[r for r in rows if r["method"] != "AE"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(KS), help="these tables only")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--overrides", nargs="*", default=[], help="train.py overrides for the AE (e.g. a penalty)")
    add_paths(parser, "tables", fashion=True)
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "tables.json")
    args = parser.parse_args()
    record: dict = {"command": command(), "tables": {}}
    for name in args.only or list(KS):
        for k in KS[name]:
            result = run_table(name, k, args.seeds, args.fashion_dir, args.overrides)
            result["summary"] = mean_rows(result["rows"])
            record["tables"][f"{name}_k{k}"] = result
            for row in result["summary"]:
                figures = "  ".join(f"{key} {row[key]:.4g}" for key in ("mse", "mse_standardised", "trustworthiness",
                                                                         "knn_acc", "fit_seconds") if key in row)  # fmt: skip
                print(f"{name} k={k} {row['method']:28s} {figures}", flush=True)
    write_record(args.results, record)


if __name__ == "__main__":
    main()
