"""Which reducer? Autoencoders beside PCA, kernel PCA, UMAP and t-SNE on the full Fashion-MNIST, at k = 2, 16, 64.

    python -m benchmarks.dr_compare                         # every k, the AE runs found under benchmarks/out/quality
    python -m benchmarks.dr_compare --ks 2 --ae 2=path/to/last.ckpt 2=another.ckpt

Every method is fit on the same 54,000 training images (the data module's split, as train.py makes it; kernel PCA
on a seeded subsample, its size printed and in the table) and scored on the official 10,000 test images with the
same calls (aelab.baselines.compare, which evaluate.py's report.baselines also runs): test MSE where a method has an
inverse, trustworthiness and silhouette on a fixed 2,000-image test subsample, 5-NN and linear-probe accuracy, seconds
to fit and to transform 1,000 new images. Baselines run once per k (seed 0) with conf/evaluate.yaml's
report.compare settings; the AE rows are trained checkpoints (benchmarks.quality runs of the presets, one row per
seed, then their mean): ``--ae K=CKPT`` names them, else every seed folder of the variant in AE_VARIANTS is used.
An AE's fit seconds are its run's training minutes (benchmark.json beside the run). Writes
benchmarks/results/dr_compare/k<K>.json, k<K>.png and table.md. ``--no-ae`` runs the baselines alone (on a quiet
machine, for their timings); ``--reuse-baselines`` then adds the AE rows to those rows without refitting them.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path

import numpy as np
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from aelab.baselines.compare import ComparisonData, MethodRow, compare_reducers, run_autoencoder, torch_codec
from aelab.checkpoints import load_model
from aelab.instantiate import build
from aelab.report.comparison import COLUMNS, comparison_markdown, reducer_figure
from benchmarks.common import DEBIAN_FASHION, ROOT, machine

# benchmarks.quality variants whose runs give each k's AE rows
AE_VARIANTS = {2: "conv2_fashion_funnel1024", 16: "conv16_fashion", 64: "conv64_fashion_gelu_b64"}
BASELINES = ["pca", "pca_classic", "kernel_pca", "umap", "tsne"]


def settings() -> dict:
    """report.compare from conf/evaluate.yaml: the same settings evaluate.py uses."""
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("evaluate", overrides=["ckpt_path=none"])
    return {**OmegaConf.to_container(cfg.report.compare, resolve=True), "seed": 0}


def fashion_data(fashion_dir: Path, trust_samples: int) -> tuple[ComparisonData, object]:
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=["data=fashion_mnist", f"data.data_dir={fashion_dir}", "paths.root_dir=."])
    datamodule = build(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("fit")
    datamodule.setup("test")
    train, test = datamodule.splits["train"].take(), datamodule.splits["test"].take()
    return ComparisonData.from_uint8(train, test, trust_samples, seed=0), datamodule


def ae_checkpoints(k: int, given: list[str], quality_out: Path) -> list[Path]:
    named = [Path(p.split("=", 1)[1]) for p in given if int(p.split("=", 1)[0]) == k]
    if named or given:
        return named
    runs = sorted((quality_out / AE_VARIANTS[k]).glob("seed*/checkpoints/last.ckpt"))
    return runs


def ae_row(ckpt: Path, k: int, data: ComparisonData, compare: dict) -> tuple[MethodRow, dict]:
    model, _ = load_model(ckpt)
    model.eval()
    transform, inverse = torch_codec(model.encode, model.decode, model.hparams.input_shape)
    record = ckpt.parents[1] / "benchmark.json"
    info = json.loads(record.read_text()) if record.is_file() else {}
    fit_seconds = 60 * info["minutes"] if "minutes" in info else math.nan
    row = run_autoencoder(
        f"AE {ckpt.parents[1].name}", transform, inverse, k, data, compare, len(data.train_x), fit_seconds
    )
    out = row.as_dict() | {"checkpoint": str(ckpt), "command": info.get("command", ""), "machine": info.get("machine")}
    print(f"AE {ckpt}: {json.dumps(row.scores)}", flush=True)
    return row, out


def stored_baselines(record: Path, codes: Path) -> tuple[list[MethodRow], str]:
    """The baseline rows of an earlier run (k<K>.json) with their test codes (the --out cache) for the figure."""
    stored = json.loads(record.read_text())
    cached = dict(np.load(codes)) if codes.is_file() else {}
    rows = []
    for entry in stored["baselines"]:
        row = MethodRow(entry["method"], entry["label"], entry["k"], entry["n_fit"], entry["scores"], entry["note"])
        row.test_codes = cached.get(row.method)
        rows.append(row)
    return rows, stored.get("baselines_machine", stored["machine"])


def mean_row(runs: list[dict], k: int) -> MethodRow:
    row = MethodRow("autoencoder", f"AE mean of {len(runs)}", k, n_fit=runs[0]["n_fit"])
    row.scores = {key: statistics.fmean(r["scores"][key] for r in runs) for key in runs[0]["scores"]}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", type=int, nargs="*", default=[2, 16, 64])
    parser.add_argument("--ae", nargs="*", default=[], help="K=CKPT: an AE checkpoint for the k=K table")
    parser.add_argument("--baselines", nargs="*", default=BASELINES)
    parser.add_argument("--fashion-dir", type=Path, default=DEBIAN_FASHION)
    parser.add_argument("--quality-out", type=Path, default=ROOT / "benchmarks" / "out" / "quality")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "dr_compare")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "dr_compare", help="codes cache")
    parser.add_argument("--no-ae", action="store_true", help="baselines only (AE rows later, with --reuse-baselines)")
    parser.add_argument(
        "--reuse-baselines", action="store_true", help="take the baseline rows (and codes) of an earlier run"
    )
    parser.add_argument("--refit", nargs="*", default=[], help="with --reuse-baselines: fit these baselines again")
    args = parser.parse_args()

    compare = settings()
    data, datamodule = fashion_data(args.fashion_dir, int(compare["trust_samples"]))
    args.results.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    table = [f"machine: {machine()}", ""]
    for k in args.ks:
        checkpoints = [] if args.no_ae else ae_checkpoints(k, args.ae, args.quality_out)
        pairs = [ae_row(ckpt, k, data, compare) for ckpt in checkpoints]
        ae_rows, runs = [row for row, _ in pairs], [run for _, run in pairs]
        if args.reuse_baselines:
            baselines, baseline_machine = stored_baselines(args.results / f"k{k}.json", args.out / f"k{k}_codes.npz")
            refit = {row.method: row for row in compare_reducers(data, k, args.refit, compare)}
            baselines = [refit.get(row.method, row) for row in baselines]
        else:
            baselines, baseline_machine = compare_reducers(data, k, args.baselines, compare), machine()
        codes = {row.method: row.test_codes for row in baselines if row.test_codes is not None}
        np.savez_compressed(args.out / f"k{k}_codes.npz", **codes)
        record = {
            "k": k,
            "machine": machine(),
            "baselines_machine": baseline_machine,
            "settings": compare,
            "autoencoder_runs": runs,
            "autoencoder_std": {
                key: statistics.stdev(r["scores"][key] for r in runs) if len(runs) > 1 else 0.0 for key in COLUMNS
            },
            "baselines": [row.as_dict() for row in baselines],
        }
        (args.results / f"k{k}.json").write_text(json.dumps(record, indent=2))
        rows = [*ae_rows, mean_row(runs, k)] if len(runs) > 1 else ae_rows
        table += [f"### k = {k}", "", *comparison_markdown(rows + baselines), ""]
        names = list(datamodule.class_names)
        if ae_rows:
            reducer_figure([ae_rows[0], *baselines], data.test_y, names, args.results / f"k{k}.png", dpi=80)
        print("\n".join(comparison_markdown(rows + baselines)), flush=True)
    (args.results / "table.md").write_text("\n".join(table) + "\n")


if __name__ == "__main__":
    main()
