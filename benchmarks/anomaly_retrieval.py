"""Anomaly detection, retrieval and AE-output-into-a-CNN on Fashion-MNIST: the AE vs PCA at the same code size.

    python -m benchmarks.anomaly_retrieval                 # experiment=anomaly_fashion (50 epochs), then evaluate.py
    python -m benchmarks.anomaly_retrieval --data sample --epochs 3   # a quick check on the embedded MNIST sample

Trains seed 000's dense AE without one class (ankle boots; digit 2 on the MNIST sample), runs evaluate.py on its
last checkpoint, and prints a markdown table from the report's metrics.json: anomaly AUROC (the held-out class
scored by reconstruction error on the full test set), retrieval precision@10 and the CNN's accuracy on originals,
AE and PCA reconstructions, plus the commands that produced them. The AE is compared with PCA clipped to [0, 1]
(its sigmoid output's range). Writes the table's figures, commands and machine to ``--results`` (committed:
benchmarks/results/anomaly_retrieval.json).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.common import ROOT, add_paths, data_overrides, machine, run_script, run_train, write_record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=["fashion", "sample"], default="fashion")
    parser.add_argument("--epochs", type=int, default=50)
    add_paths(parser, "anomaly_retrieval", fashion=True)
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "anomaly_retrieval.json")
    args = parser.parse_args()

    experiment = "experiment=anomaly_fashion" if args.data == "fashion" else "experiment=anomaly_mnist"
    train_overrides = [
        experiment,
        *data_overrides(args.data, args.fashion_dir),
        f"trainer.max_epochs={args.epochs}",
        "logger=csv",
        "callbacks.progress_bar=null",
    ]
    trained, train_seconds = run_train(train_overrides, args.out / "train")
    ckpt = args.out / "train" / "checkpoints" / "last.ckpt"
    report = args.out / "evaluate" / "report"
    eval_seconds = run_script("evaluate.py", [f"ckpt_path={ckpt}", f"report.dir={report}"], args.out / "evaluate")
    m = json.loads((report / "metrics.json").read_text())

    k = int(m["pca/k"])
    held_out = ", ".join(str(c) for c in m["anomaly/classes"])
    rows = [
        ("test MSE", "test/mse", "pca/test_mse_yardstick"),
        (f"anomaly AUROC (class {held_out} left out of training)", "anomaly/ae_auroc", "anomaly/pca_auroc"),
        ("retrieval precision@10", "retrieval/ae_precision_at_10", "retrieval/pca_precision_at_10"),
        ("t-SNE class silhouette", "tsne/ae_silhouette", "tsne/pca_silhouette"),
        ("CNN accuracy on reconstructions", "cnn/acc_ae", "cnn/acc_pca"),
        ("test MSE from 8-bit codes", "compression/ae_mse_8bit", "compression/pca_mse_8bit"),
    ]
    print(f"\nmachine: {machine()}")
    print(f"train: {train_seconds / 60:.1f} min ({args.epochs} epochs); evaluate.py: {eval_seconds:.0f} s")
    print("commands:\n    python train.py " + " ".join(train_overrides))
    print(f"    python evaluate.py ckpt_path={ckpt}\n")
    print(f"| measure | AE | clipped PCA-{k} |")
    print("|---|---|---|")
    for name, ae, pca in rows:
        print(f"| {name} | {m[ae]:.4f} | {m[pca]:.4f} |")
    print(f"| CNN accuracy on test originals | {m['cnn/acc_original']:.4f} | |")
    print(
        f"\nAnomaly: {int(m['anomaly/num_anomalies'])} held-out test images among the whole test set; retrieval and "
        f"CNN: {int(m['retrieval/num_queries'])} queries / all test images of the classes seen in training. "
        f"Report: {args.out / 'evaluate' / 'report' / 'report.md'}"
    )
    if trained:
        print(f"(train.py's own test: AE {trained['test/mse']:.5f} vs {trained['pca/test_mse_yardstick']:.5f})")
    record = {
        "machine": machine(),
        "commands": ["python train.py " + " ".join(train_overrides), f"python evaluate.py ckpt_path={ckpt}"],
        "train_minutes": train_seconds / 60,
        "evaluate_seconds": eval_seconds,
        "rows": {name: {"ae": m[ae], "pca": m[pca]} for name, ae, pca in rows},
        "cnn_acc_original": m["cnn/acc_original"],
        "pca_k": k,
        "pca_clipped": m["pca/yardstick_clipped"] > 0,
    }
    write_record(args.results, record)
    print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
