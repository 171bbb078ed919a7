"""Seed 000's dense AE on the full Fashion-MNIST (60k train incl. validation, official 10k test) vs PCA-20.

    python benchmarks/quality_seed_dense.py            # the experiment as shipped (cosine LR decay)
    python benchmarks/quality_seed_dense.py --also-constant-lr   # plus the seed's constant learning rate

Prints a markdown table: test MSE of the AE and of PCA at the same k, their ratio, and the accuracy of a
logistic-regression probe on each one's codes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.common import ROOT, data_overrides, machine, run_train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=["fashion", "sample"], default="fashion")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--also-constant-lr", action="store_true", help="also run the seed's constant learning rate")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "quality_seed_dense")
    args = parser.parse_args()

    variants = {"cosine LR decay (experiment default)": []}
    if args.also_constant_lr:
        variants["constant LR (as in the seed)"] = ["model.scheduler=null"]
    rows = []
    for i, (label, extra) in enumerate(variants.items()):
        overrides = [
            "experiment=seed_dense_mnist",
            *data_overrides(args.data),
            f"trainer.max_epochs={args.epochs}",
            "logger=csv",
            "callbacks.progress_bar=null",
            *extra,
        ]
        m, seconds = run_train(overrides, args.out / str(i))
        rows.append(
            f"| {label} | {m['test/mse']:.5f} | {m['pca/test_mse']:.5f} | {m['ae_over_pca_test_mse']:.3f} "
            f"| {m['probe/test_acc']:.3f} | {m['pca/probe_test_acc']:.3f} | {seconds / 60:.1f} |"
        )
    print(f"machine: {machine()}\n")
    print("| schedule | AE test MSE | PCA-20 test MSE | AE / PCA | AE probe acc | PCA probe acc | minutes |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
