"""Write the tables of README.md and benchmarks/results.md from the benchmarks' JSON, between `<!-- table:NAME -->`
and `<!-- /table -->` (NAME picks its formatter in TABLES): `python -m benchmarks.render` rewrites them in place,
`--check` changes nothing and exits 1 listing the tables that differ from their JSON."""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PAGES = [ROOT / "README.md", ROOT / "benchmarks" / "results.md"]
MARKED = re.compile(r"<!-- table:(\w+) -->\n.*?<!-- /table -->", re.S)
DR = {"test_mse": ".5f", "trustworthiness": ".4f", "knn_acc": ".3f", "probe_acc": ".3f", "silhouette": ".3f",
      "fit_seconds": ".1f", "transform_1k_seconds": ".3f"}  # fmt: skip
DR_HEADER = "method | k | fit on | test MSE | trustworthiness | 5-NN acc | probe acc | silhouette | fit s | s per 1k new"  # fmt: skip


def load(name: str) -> dict:
    return json.loads((RESULTS / name).read_text())


def md(header: str, rows: list[list]) -> str:
    lines = [f"| {header} |", "|" + "---|" * len(header.split(" | "))]
    return "\n".join(lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows])


def short_machine(machine: str) -> str:
    """'H100 80GB HBM3' or '2 CPU cores' out of benchmarks.common.machine()'s description."""
    cores, _, rest = machine.partition(" (")
    gpu = rest.split(", ")[1] if ", " in rest else "no GPU"
    return cores if gpu == "no GPU" else gpu.replace("NVIDIA ", "")


def dr_row(label: str, k: int, n_fit: float, scores: dict, columns: int = 7) -> list:
    cells = ("n/a" if math.isnan(scores[key]) else format(scores[key], f) for key, f in list(DR.items())[:columns])
    return [label, k, f"{int(n_fit):,}", *cells]


def ae_mean(runs: list[dict]) -> dict:
    return {key: statistics.fmean(run["scores"][key] for run in runs) for key in DR}


def dr_compare(k: int) -> str:
    d = load(f"dr_compare/k{k}.json")
    runs = d["autoencoder_runs"]
    rows = [dr_row(f"AE seed {r['label'].removeprefix('AE seed')} ({short_machine(r['machine'])})", k, r["n_fit"],
                   r["scores"]) for r in runs]  # fmt: skip
    rows.append(dr_row(f"**AE mean of {len(runs)} seeds**", k, runs[0]["n_fit"], ae_mean(runs)))
    rows += [dr_row(b["label"], k, b["n_fit"], b["scores"]) for b in d["baselines"]]
    notes = "".join(f"\n- {b['label']}: {b['note']}" for b in d["baselines"] if b["note"])
    return md(DR_HEADER, rows) + (f"\n{notes}" if notes else "")


RENAMED = {"conv2_fashion_funnel1024": "fashion_k2", "conv64_fashion_gelu_b64": "fashion_k64"}  # same configs


def which_reducer() -> str:
    """The README's table: the k=2 and k=64 presets' means beside every baseline that scores, no timings."""
    rows = []
    for k in (2, 64):
        d = load(f"dr_compare/k{k}.json")
        runs = d["autoencoder_runs"]
        preset = re.search(r"experiment=(\S+)", runs[0]["command"])[1]
        preset = RENAMED.get(preset, preset)
        rows.append(dr_row(f"AE (`{preset}`, mean of {len(runs)} seeds)", k, runs[0]["n_fit"], ae_mean(runs), 5))
        rows += [dr_row(b["label"], k, b["n_fit"], b["scores"], 5) for b in d["baselines"]
                 if b["method"] != "pca_classic" and not math.isnan(b["scores"]["knn_acc"])]  # fmt: skip
    return md(DR_HEADER.rsplit(" | ", 2)[0], rows)


def yardstick() -> str:
    """PCA's test MSE depends only on k and the fixed split: one row per k among benchmarks/results/quality/."""
    by_k = {}
    for s in map(json.loads, map(Path.read_text, sorted((RESULTS / "quality").glob("*.json")))):
        by_k.setdefault(s["k"], (s["mean"]["pca_test_mse"], s["mean"]["pca_clipped_test_mse"]))
    rows = [[k, f"{a:.5f}", f"{b:.5f}", f"{b / a:.3f}"] for k, (a, b) in sorted(by_k.items())]
    return md("k | classic PCA test MSE | clipped PCA test MSE | clipped / classic", rows)


def quality(names: str) -> str:
    rows = []
    for s in (load(f"quality/{name}.json") for name in names.split()):
        mean, std, many = s["mean"], s["std"], s["seeds"] > 1
        pm = {key: f"{mean[key]:{f}}" + f" ± {std[key]:{f}}" * many for key, f in
              (("test_mse", ".5f"), ("ae_over_pca", ".3f"), ("ae_probe_acc", ".3f"))}  # fmt: skip
        pca = mean["pca_clipped_test_mse" if s["yardstick"] == "clipped" else "pca_test_mse"]
        rows.append([s["variant"], s["k"], s["seeds"], pm["test_mse"], f"{pca:.5f} ({s['yardstick']})",
                     f"**{pm['ae_over_pca']}**", pm["ae_probe_acc"], f"{mean['pca_probe_acc']:.3f}",
                     f"{mean['minutes']:.1f}", " + ".join(map(short_machine, s["machines"])), s["note"]])  # fmt: skip
    rows.append(["conv_deep", *["-"] * 9, "not run: needs image sides a multiple of 8 (28x28 is not); the Intel model"])
    return md("variant | k | seeds | AE test MSE | PCA test MSE (yardstick) | AE / PCA | AE probe acc | PCA probe acc "
              "| minutes per run | machine | what", rows)  # fmt: skip


def anomaly() -> str:
    d, rows = load("anomaly_retrieval.json"), []
    for measure, sides in d["rows"].items():
        ae, pca = (format(sides[side], ".5f" if "MSE" in measure else ".3f") for side in ("ae", "pca"))
        best = (min if "MSE" in measure else max)(ae, pca, key=float) if ae != pca else None
        rows.append([measure, *(f"**{v}**" if v == best else v for v in (ae, pca))])
    return md(f"measure | AE (dense, k={d['pca_k']}) | clipped PCA-{d['pca_k']}", rows)


def default_run(folder: str) -> str:
    lines = load("default_run.json")["last lines"]
    return "\n".join("    " + re.sub(r"/\S*/default_run\b", folder, line) for line in lines)


def small_folder() -> str:
    """Each row's label shows the overrides it adds to the row above."""
    d, rows, before = load("small_folder.json"), [], []
    for name in ("20 epochs", "early stopping", "+ augmentation", "+ smaller net"):
        r, added = d[name], " ".join(o for o in d[name]["overrides"] if o not in before)
        rows.append([f"{name}: `{added}`", ", ".join(str(x["epochs"]) for x in r["runs"]),
                     ", ".join(f"{x['ae/pca test MSE']:.2f}" for x in r["runs"]), f"{r['ae/pca test MSE (mean)']:.2f}"])  # fmt: skip
        before = r["overrides"]
    return md("run | epochs run (seeds 0, 1) | AE / clipped PCA-32 test MSE (seeds 0, 1) | mean", rows)


def speed_vs_keras() -> str:
    d, sides = load("speed_vs_keras.json"), ("train.py", "bare loop", "keras fit")
    rows = [[i, *(f"{r[s]:.2f}" for s in sides), f"{r['train.py'] / r['bare loop']:.2f}",
             f"{r['train.py'] / r['keras fit']:.2f}"] for i, r in enumerate(d["rounds_detail"], 1)]  # fmt: skip
    rows.append(["**median**", *(f"{d['seconds_per_epoch (median of rounds)'][s]:.2f}" for s in sides),
                 *(f"**{d[k]:.2f}** (target <= {d['targets'][k]})" for k in ("train.py / bare loop", "train.py / keras"))])  # fmt: skip
    return md("round | train.py s/epoch | bare loop | Keras fit | train.py / bare loop | train.py / Keras", rows)


def where_time_goes() -> str:
    d = load("where_time_goes.json")
    seconds, ratio = d["training seconds per epoch (median)"], d["over the bare loop"]
    order = sorted(seconds, key=lambda n: (list(seconds).index(n.removesuffix(", 14 callbacks")), "callbacks" in n))
    rows = [[n if "groups" in n else n.replace("own steps", "own steps, one batch at a time"), f"{seconds[n]:.2f}",
             f"{ratio[n]:.2f}"] for n in order]  # fmt: skip
    return md("training loop | seconds per epoch | / bare loop", rows)


def cpu_precision() -> str:
    d, rows, sides = load("cpu_precision.json"), [], ("fp32", "bf16 + channels_last")
    for net in ("conv_strided 28x28", "conv_deep 128x128"):
        r = d[net]
        rate = [r["summary"][side]["images/s median"] for side in sides]
        rows.append([net, *(f"{v:,.0f}" if v >= 100 else f"{v:.1f}" for v in rate), f"{r['bf16 speed-up']:.2f}x",
                     *(", ".join(f"{x['test/mse']:.5f}" for x in r["runs"][side]) for side in sides),
                     f"{r['test MSE change']:+.1%}"])  # fmt: skip
    return md("net | fp32 images/s | bf16 + channels_last images/s | speed-up | fp32 test MSE (per seed) | bf16 test "
              "MSE (per seed) | mean change", rows)  # fmt: skip


def kill_loop() -> str:
    d = load("kill_loop.json")
    return md("kills | whole checkpoints refused | checkpoints loaded | loaded by the pending digest only",
              [[d["kills"], f"**{d['refused']}**", d["loaded"], d["matched_only_the_pending_digest"]]])  # fmt: skip


def anchored(name: str = "anchored.json") -> str:
    """From scratch against PCA-anchored, per row: means of the seeds, each seed's AE/PCA in brackets."""
    rows = []
    for row, variants in load(name)["rows"].items():
        for name in ("scratch", "anchored"):
            runs, mean = variants[name]["runs"], variants[name]["mean"]
            each = ", ".join(f"{r['ae_over_pca']:.3f}" for r in runs)
            start = sum(bool(r["pca_start_selected"]) for r in runs)
            rows.append([row, name, len(runs), f"**{mean['ae_over_pca']:.3f}** ({each})", f"{mean['knn_acc']:.3f}",
                         f"{mean['probe_acc']:.3f}", f"{mean['seconds']:.0f}", start if name == "anchored" else "-"])  # fmt: skip
    return md("row | start | seeds | test MSE / clipped PCA's | 5-NN | probe | s per run | PCA start selected", rows)


def tables() -> str:
    """Per table and k: each method's test MSE (input units; standardised), trustworthiness, 5-NN, fit seconds."""
    rows = []
    for key, result in load("tables.json")["tables"].items():
        name, k = key.rsplit("_k", 1)
        for row in result["summary"]:
            mse = f"{row['mse']:.4g}" if "mse" in row else "n/a"
            if "mse_sd" in row:
                mse += f" ± {row['mse_sd']:.2g}"
            std = f"{row['mse_standardised']:.4f}" if "mse_standardised" in row else "n/a"
            rows.append([name, k, row["method"], mse, std, f"{row['trustworthiness']:.4f}", f"{row['knn_acc']:.3f}",
                         f"{row['fit_seconds']:.1f}"])  # fmt: skip
    return md("table | k | method | test MSE (input units) | test MSE (standardised) | trustworthiness | 5-NN | fit s",
              rows)  # fmt: skip


def seed_groups(runs: list[dict]) -> list[tuple[tuple, float, float, str]]:
    """The runs of one setting (budget and --extra tries) together: (budget, extra), mean seconds, mean ratio, each."""
    settings = sorted({(r["budget"] or 0, tuple(r.get("extra", []))) for r in runs})
    groups = []
    for setting in settings:
        same = [r for r in runs if (r["budget"] or 0, tuple(r.get("extra", []))) == setting]
        seconds, mean = (sum(r[key] for r in same) / len(same) for key in ("seconds", "ae_over_pca"))
        groups.append((setting, seconds, mean, ", ".join(f"{r['ae_over_pca']:.3f}" for r in same)))
    return groups


def time_to_quality() -> str:
    """Each row's runs: seconds from launch to the last epoch scored, and the test MSE over clipped PCA-k's."""
    rows = []
    for name, row in load("time_to_quality.json")["rows"].items():
        if row.get("curve"):
            points = ", ".join(f"{p['seconds']:.0f} s {p['ae_over_pca']:.3f}x" for p in row["curve"])
            rows.append([name, "curve (every epoch)", "-", points])
            continue
        runs, groups = row["runs"], seed_groups(row["runs"])
        if any(r["budget"] for r in runs):  # a budget's curve, a try's overrides (--extra) after its budget
            points = [f"{' '.join([f'{b} s budget', *extra])}: {s:.0f} s {m:.3f}x" + (f" ({e})" if "," in e else "")
                      for (b, extra), s, m, e in groups]  # fmt: skip
            rows.append([name, f"{len(runs)} runs", "-", ", ".join(points)])
            continue
        for (_, extra), seconds, mean, each in groups:
            seeds = each.count(",") + 1
            rows.append([" ".join([name, *extra]), f"{seeds} seed(s)", f"{seconds:.0f}", f"**{mean:.3f}x** ({each})"])
    return md("row | runs | s from launch to the last epoch (mean) | test MSE / clipped PCA-k's", rows)


TABLES = {
    "which_reducer": which_reducer, "default_run_readme": lambda: default_run("outputs/train/runs/<run>"),
    "dr_compare_k2": lambda: dr_compare(2), "dr_compare_k16": lambda: dr_compare(16),
    "dr_compare_k64": lambda: dr_compare(64), "yardstick": yardstick, "anomaly": anomaly,
    "headline": lambda: quality("seed_dense deep_dense_fashion linear conv_strided"),
    "zoo": lambda: quality("dense undercomplete denoising sparse_l1 sparse_kl k_sparse contractive l2_code conv vae"),
    "default_run": lambda: default_run(".../default_run"), "small_folder": small_folder,
    "speed_vs_keras": speed_vs_keras, "where_time_goes": where_time_goes, "cpu_precision": cpu_precision,
    "kill_loop": kill_loop, "anchored": anchored, "anchored_fashion": lambda: anchored("anchored_fashion.json"),
    "tables": lambda: tables(), "time_to_quality": time_to_quality,
}  # fmt: skip


def block(name: str) -> str:
    return f"<!-- table:{name} -->\n\n{TABLES[name]()}\n\n<!-- /table -->"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a table differs from its JSON")
    args = parser.parse_args(argv)
    stale = []
    for page in PAGES:
        text = page.read_text()
        stale += [f"{page.relative_to(ROOT)}: {m[1]}" for m in MARKED.finditer(text) if m[0] != block(m[1])]
        if not args.check:
            page.write_text(MARKED.sub(lambda m: block(m[1]), text))
    print(("differ from their JSON: " if args.check else "rewritten: ") + (", ".join(stale) or "none"))
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
