"""Collect a Hydra multirun into one AE-vs-PCA table and plot: python -m aelab.summarize <multirun dir>.

Each job folder holds results.json (test metrics, PCA at the same k, probe accuracies) and .hydra/config.yaml.
Writes summary.csv, summary.md and summary.png (test MSE vs code size, AE lines beside PCA's, and probe accuracy
vs code size) into the multirun folder, or ``--out``.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from omegaconf import OmegaConf

COLUMNS = [
    "model",
    "k",
    "ae_test_mse",
    "pca_test_mse",
    "pca_clipped_test_mse",
    "yardstick",
    "ae_over_pca",
    "ae_probe_acc",
    "pca_probe_acc",
    "parameters",
    "job",
]


def collect(multirun_dir: Path) -> list[dict]:
    """One row per finished job (a folder with results.json), sorted by model and code size."""
    rows = []
    for results in sorted(multirun_dir.glob("**/results.json")):
        job = results.parent
        m = json.loads(results.read_text())
        config_file = job / ".hydra" / "config.yaml"
        model = OmegaConf.load(config_file).model.name if config_file.is_file() else "?"
        rows.append(
            {
                "model": model,
                "k": int(m["pca/k"]),
                "ae_test_mse": m["test/mse"],
                "pca_test_mse": m["pca/test_mse"],
                "pca_clipped_test_mse": m["pca/test_mse_clipped"],
                "yardstick": "clipped" if m["pca/yardstick_clipped"] > 0 else "classic",
                "ae_over_pca": m["ae_over_pca_test_mse"],
                "ae_probe_acc": m.get("probe/test_acc", float("nan")),
                "pca_probe_acc": m.get("pca/probe_test_acc", float("nan")),
                "parameters": int(m.get("model/parameters", 0)),
                "job": str(job.relative_to(multirun_dir)),
            }
        )
    if not rows:
        raise FileNotFoundError(
            f"no results.json under {multirun_dir}: pass the folder of a finished multirun "
            "(outputs/<task_name>/multiruns/<time>), whose jobs ran with test=true"
        )
    return sorted(rows, key=lambda r: (r["model"], r["k"]))


def write_csv(rows: list[dict], path: Path) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def markdown(rows: list[dict]) -> str:
    lines = [
        "AE / PCA compares each AE with clipped PCA (reconstructions clipped to [0, 1]) when its output is bounded by a "
        "sigmoid, with classic PCA otherwise (the linear AE); the yardstick column says which.",
        "",
        "| model | k | AE test MSE | PCA test MSE | clipped PCA test MSE | yardstick | AE / PCA | AE probe acc "
        "| PCA probe acc | parameters |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['k']} | {r['ae_test_mse']:.5f} | {r['pca_test_mse']:.5f} "
            f"| {r['pca_clipped_test_mse']:.5f} | {r['yardstick']} | {r['ae_over_pca']:.3f} "
            f"| {r['ae_probe_acc']:.3f} | {r['pca_probe_acc']:.3f} | {r['parameters']:,} |"
        )
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path) -> None:
    """Left: test MSE vs k per model, PCA dashed. Right: probe accuracy vs k, PCA dashed."""
    by_model: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_model[r["model"]].append(r)
    pca = {r["k"]: r for r in rows}  # PCA depends on k and the data only
    ks = sorted(pca)
    fig, (ax_mse, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for model, model_rows in sorted(by_model.items()):
        model_rows.sort(key=lambda r: r["k"])
        k = [r["k"] for r in model_rows]
        ax_mse.plot(k, [r["ae_test_mse"] for r in model_rows], marker="o", label=model)
        ax_acc.plot(k, [r["ae_probe_acc"] for r in model_rows], marker="o", label=model)
    ax_mse.plot(ks, [pca[k]["pca_test_mse"] for k in ks], "k--", marker="s", label="PCA")
    ax_mse.plot(ks, [pca[k]["pca_clipped_test_mse"] for k in ks], "k:", marker="^", label="PCA clipped to [0, 1]")
    ax_acc.plot(ks, [pca[k]["pca_probe_acc"] for k in ks], "k--", marker="s", label="PCA")
    for ax, title in ((ax_mse, "test MSE (lower is better)"), (ax_acc, "probe accuracy on codes")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("code size k")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    ax_mse.set_yscale("log")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def summarize(multirun_dir: str | Path, out_dir: str | Path | None = None) -> dict[str, Path]:
    """Write summary.csv, summary.md and summary.png; return their paths."""
    multirun_dir = Path(multirun_dir)
    if not multirun_dir.is_dir():
        raise FileNotFoundError(
            f"{multirun_dir} is not a folder; pass a multirun folder (outputs/.../multiruns/<time>)"
        )
    out = Path(out_dir) if out_dir else multirun_dir
    out.mkdir(parents=True, exist_ok=True)
    rows = collect(multirun_dir)
    paths = {"csv": out / "summary.csv", "md": out / "summary.md", "png": out / "summary.png"}
    write_csv(rows, paths["csv"])
    paths["md"].write_text(markdown(rows))
    plot(rows, paths["png"])
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("multirun_dir", type=Path, help="outputs/<task_name>/multiruns/<time>")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: the multirun folder)")
    args = parser.parse_args()
    paths = summarize(args.multirun_dir, args.out)
    print(paths["md"].read_text())
    print("wrote", ", ".join(str(p) for p in paths.values()))


if __name__ == "__main__":
    main()
