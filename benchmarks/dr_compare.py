"""Which reducer? Autoencoders beside PCA, kernel PCA, UMAP and t-SNE on the full Fashion-MNIST, at k = 2, 16, 64.

    python -m benchmarks.dr_compare                         # every k, the AE runs of benchmarks.quality (its --out)
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
machine, for their timings); ``--reuse-baselines`` then adds the AE rows to those rows without refitting them. Each
baseline row records what it was made with (``made_with``: method, k, data, seed, scoring settings and the method's
parameters); a stored row is reused only when that matches the current settings, else it is fitted again and the
script says why.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import statistics
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import OmegaConf

from aelab.baselines.compare import ComparisonData, MethodRow, compare_reducers, run_autoencoder
from aelab.baselines.reducers import ModelReducer
from aelab.checkpoints import load_model
from aelab.report.comparison import COLUMNS, comparison_markdown, reducer_figure
from benchmarks.common import ROOT, add_paths, compose, fashion_datamodule, machine, provenance, write_record

# benchmarks.quality variants whose runs give each k's AE rows
AE_VARIANTS = {2: "conv2_fashion_funnel1024", 16: "conv16_fashion", 64: "conv64_fashion_gelu_b64"}
BASELINES = ["pca", "pca_classic", "kernel_pca", "umap", "tsne"]
SCORING = ("trust_samples", "trust_neighbors", "knn_k", "transform_samples")


def settings() -> dict:
    """report.compare from conf/evaluate.yaml: the same settings evaluate.py uses."""
    cfg = compose(["ckpt_path=none"], config="evaluate")
    return {**OmegaConf.to_container(cfg.report.compare, resolve=True), "seed": 0}


def fingerprint(data: ComparisonData) -> str:
    """A digest of the images, labels and scored subsample every row is fit and scored on."""
    digest = hashlib.sha256()
    for array in (data.train_x, data.train_y, data.test_x, data.test_y, data.subset):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def made_with(method: str, k: int, data: str, compare: dict) -> dict[str, Any]:
    """What a baseline row depends on: reused only when all of it matches."""
    return {"method": method, "k": k, "data": data, "seed": compare["seed"], "scoring": {key: compare[key] for key in SCORING},
            "params": (compare.get("methods") or {}).get(method)}  # fmt: skip


def ae_checkpoints(k: int, given: list[str], quality_out: Path) -> list[Path]:
    named = [Path(p.split("=", 1)[1]) for p in given if int(p.split("=", 1)[0]) == k]
    if named or given:
        return named
    return sorted((quality_out / AE_VARIANTS[k]).glob("seed*/checkpoints/last.ckpt"))


def ae_row(ckpt: Path, k: int, data: ComparisonData, compare: dict) -> tuple[MethodRow, dict]:
    model, _ = load_model(ckpt)
    model.eval()
    reducer = ModelReducer(model, model.hparams.input_shape)
    reducer.label = f"AE {ckpt.parents[1].name}"
    record = ckpt.parents[1] / "benchmark.json"
    info = json.loads(record.read_text()) if record.is_file() else {}
    fit_seconds = 60 * info["minutes"] if "minutes" in info else math.nan
    row = run_autoencoder(reducer, k, data, compare, len(data.train_x), fit_seconds)
    out = row.as_dict() | {"checkpoint": str(ckpt), "command": info.get("command", ""), "machine": info.get("machine")}
    print(f"AE {ckpt}: {json.dumps(row.scores)}", flush=True)
    return row, out


def spread(values: list[float]) -> float:
    """The standard deviation over seeds; NaN where a run has no figure (an AE checkpoint without its run's time)."""
    if len(values) < 2:
        return 0.0
    return statistics.stdev(values) if all(math.isfinite(v) for v in values) else math.nan


def mean_row(runs: list[dict], k: int) -> MethodRow:
    row = MethodRow("autoencoder", f"AE mean of {len(runs)}", k, n_fit=runs[0]["n_fit"])
    row.scores = {key: statistics.fmean(r["scores"][key] for r in runs) for key in runs[0]["scores"]}
    return row


def baseline_rows(args: argparse.Namespace, k: int, data: ComparisonData, compare: dict, data_id: str) -> list[dict]:
    """Each baseline's row as stored (``row``: MethodRow, ``dict``: as written), fitted now or, with
    --reuse-baselines, taken from k<K>.json where it was made with the current settings."""
    stored, codes = {}, {}
    record_file, codes_file = args.results / f"k{k}.json", args.out / f"k{k}_codes.npz"
    if args.reuse_baselines and record_file.is_file():
        stored = {entry["method"]: entry for entry in json.loads(record_file.read_text())["baselines"]}
        codes = dict(np.load(codes_file)) if codes_file.is_file() else {}
    elif args.reuse_baselines:
        print(f"k={k}: no baseline rows stored in {record_file}: fitting every baseline", flush=True)
    rows = []
    for name in args.baselines if not args.reuse_baselines else (list(stored) or args.baselines):
        wanted, entry = made_with(name, k, data_id, compare), stored.get(name)
        if entry is not None and name not in args.refit and entry.get("made_with") == wanted:
            row = MethodRow(entry["method"], entry["label"], entry["k"], entry["n_fit"], entry["scores"], entry["note"])
            row.test_codes = codes.get(name)
            rows.append({"row": row, "dict": entry})
            continue
        if entry is not None and name not in args.refit:
            why = f"made with {entry['made_with']}" if "made_with" in entry else "it records no settings"
            print(f"k={k} {name}: the stored row is not reused ({why}; now: {wanted}); fitting it again", flush=True)
        (row,) = compare_reducers(data, k, [name], compare)
        rows.append({"row": row, "dict": {**row.as_dict(), "made_with": wanted, "provenance": provenance()}})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_paths(parser, "dr_compare", fashion=True)  # the baselines' test codes, for --reuse-baselines' figure
    parser.add_argument("--ks", type=int, nargs="*", default=[2, 16, 64])
    parser.add_argument("--ae", nargs="*", default=[], help="K=CKPT: an AE checkpoint for the k=K table")
    parser.add_argument("--baselines", nargs="*", default=BASELINES)
    parser.add_argument("--quality-out", type=Path, default=ROOT / "outputs" / "benchmarks" / "quality")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "dr_compare")
    parser.add_argument("--no-ae", action="store_true", help="baselines only (AE rows later, with --reuse-baselines)")
    parser.add_argument("--reuse-baselines", action="store_true",
                        help="take the baseline rows (and codes) of an earlier run made with the same settings")  # fmt: skip
    parser.add_argument("--refit", nargs="*", default=[], help="with --reuse-baselines: fit these baselines again")
    args = parser.parse_args()

    compare = settings()
    datamodule = fashion_datamodule(args.fashion_dir)
    train, test = datamodule.splits["train"].take(), datamodule.splits["test"].take()
    data = ComparisonData.from_uint8(train, test, int(compare["trust_samples"]), seed=0)
    data_id = f"fashion_mnist train {len(data.train_x)} test {len(data.test_x)} sha256 {fingerprint(data)}"
    args.out.mkdir(parents=True, exist_ok=True)
    table = [f"machine: {machine()}", ""]
    for k in args.ks:
        checkpoints = [] if args.no_ae else ae_checkpoints(k, args.ae, args.quality_out)
        pairs = [ae_row(ckpt, k, data, compare) for ckpt in checkpoints]
        ae_rows, runs = [row for row, _ in pairs], [run for _, run in pairs]
        baselines = baseline_rows(args, k, data, compare, data_id)
        rows = [entry["row"] for entry in baselines]
        codes = {row.method: row.test_codes for row in rows if row.test_codes is not None}
        np.savez_compressed(args.out / f"k{k}_codes.npz", **codes)
        record = {
            "k": k,
            "machine": machine(),
            "settings": compare,
            "data": data_id,
            "autoencoder_runs": runs,
            "autoencoder_std": {key: spread([r["scores"][key] for r in runs]) for key in COLUMNS},
            "baselines": [entry["dict"] for entry in baselines],
        }
        write_record(args.results / f"k{k}.json", record)
        shown = [*ae_rows, mean_row(runs, k)] if len(runs) > 1 else ae_rows
        table += [f"### k = {k}", "", *comparison_markdown(shown + rows), ""]
        if ae_rows:
            names = list(datamodule.class_names)
            reducer_figure([ae_rows[0], *rows], data.test_y, names, args.results / f"k{k}.png", dpi=80)
        print("\n".join(comparison_markdown(shown + rows)), flush=True)
    (args.results / "table.md").write_text("\n".join(table) + "\n")


if __name__ == "__main__":
    main()
