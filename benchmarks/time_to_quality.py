"""Time to quality (issue 35): test MSE against clipped PCA-k as a function of wall-clock seconds, on Fashion-MNIST.

    python -m benchmarks.time_to_quality                 # every row: run it alone on the machine
    python -m benchmarks.time_to_quality --only fast_k64_bf16 --seeds 0

Rows, each through train.py as a user runs it:
  - preset_k64 / preset_k16 / preset_k2: ``experiment=fashion_k64`` (its 35-epoch cosine schedule; at k=16 with
    ``model.latent_dim=16``) and ``fashion_k2`` (30 epochs), in fp32 as measured before, stopped after --preset-epochs
    epochs, every epoch's checkpoint scored on the test split afterwards: the presets' curves as they train;
  - fast_k64_fp32 / fast_k64_bf16: ``experiment=fashion_k64_fast`` (a 90-second budget) in fp32, and in bf16
    autocast with the NHWC layout (what ``trainer.precision=auto`` picks on a CPU with bf16 units), --seeds each;
  - fast_k64_bf16_compile: the bf16 fast preset with ``model.compile=true`` (torch.compile's time inside the budget);
  - fast_k64_bf16_budgets / fast_k2_bf16_budgets: the bf16 fast presets at other budgets (--budgets), seed 0
    (--budget-seeds): their curves, and the old presets' own time (1,244 s and 1,962 s) for their final quality;
  - fast_k16_bf16: ``experiment=fashion_k64_fast model.latent_dim=16`` (90 seconds), --seeds;
  - fast_k2_fp32 / fast_k2_bf16: ``experiment=fashion_k2_fast`` (300 seconds), --seeds each.
UMAP's fit seconds at each k are read from benchmarks.dr_compare's records (named in the JSON), not refitted here.
``--extra`` adds overrides to every run of the rows named (recorded with each run: tries such as a peak learning rate,
judged on ``val_over_pca``, the validation split).
The clock of a point runs from the launch of train.py to the end of the epoch scored: start-up, data loading, the PCA
yardstick and validation are in it, the test pass is not. PCA-k's own fit is timed on the same training images.
Writes --results (benchmarks/results/time_to_quality.json) and the plot beside it (time_to_quality.png).
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import numpy as np

from benchmarks.common import ROOT, add_paths, command, fashion_dir, run_train, write_record

BF16 = ["trainer.precision=bf16-mixed", "model.channels_last=true"]
FP32 = ["trainer.precision=32-true"]
LOGS = ["logger=csv", "callbacks.progress_bar=null"]


PRESETS = {"k2": ["fashion_k2"], "k16": ["fashion_k64", "model.latent_dim=16"], "k64": ["fashion_k64"]}
EPOCHS = {"fashion_k2": 30, "fashion_k64": 35}  # the presets' cosine schedules, kept when a curve is cut short


def umap_fit_seconds() -> dict:
    """UMAP's fit seconds on the same 54,000 images, as benchmarks.dr_compare measured them (not refitted here)."""
    found = {}
    for k, name in ((2, "dr_compare_k2_fast/k2.json"), (16, "dr_compare/k16.json"), (64, "dr_compare/k64.json")):
        path = ROOT / "benchmarks" / "results" / name
        if path.is_file():
            record = json.loads(path.read_text())
            umap = next((b for b in record["baselines"] if b["method"] == "umap"), None)
            if umap:
                found[k] = {"seconds": umap["scores"]["fit_seconds"], "from": name, "machine": record["machine"]}
    return found


def scored_epochs(run_dir: Path, launched: float, data_dir: Path) -> list[dict]:
    """Each epoch checkpoint of a run scored on the Fashion-MNIST test split: (seconds since launch, AE/PCA)."""
    import torch

    from aelab.checkpoints import load_model
    from aelab.data.mnist import MNISTDataModule

    results = json.loads((run_dir / "results.json").read_text())
    ended = json.loads((run_dir / "epoch_times.json").read_text())["epoch_ended_at"]
    data = MNISTDataModule(name="fashion_mnist", data_dir=str(data_dir), source="full", download=False)
    data.setup("test")
    images = data.splits["test"].take()[0].float().div_(255)
    points = []
    for epoch, end in enumerate(ended):
        path = run_dir / "checkpoints" / f"epoch{epoch:03d}.ckpt"
        if not path.is_file():
            continue
        model, _ = load_model(path)
        with torch.no_grad():
            error = sum(float(((model.eval()(x) - x) ** 2).sum()) for x in images.split(1000)) / images.numel()
        points.append(
            {"epoch": epoch, "seconds": end - launched, "ae_over_pca": error / results["pca/test_mse_clipped"]}
        )
    return points


def timed_run(overrides: list[str], run_dir: Path) -> tuple[dict, float, list[float]]:
    """train.py's results, the launch time and the epochs' end times."""
    launched = time.time()
    results, _ = run_train([*overrides, *LOGS], run_dir)
    ended = json.loads((run_dir / "epoch_times.json").read_text())["epoch_ended_at"]
    return results, launched, ended


def final_point(results: dict, launched: float, ended: list[float], seed: int) -> dict:
    return {"seed": seed, "seconds": ended[-1] - launched, "epochs": len(ended),
            "ae_over_pca": results["ae_over_pca_test_mse"],
            "val_over_pca": results["val/mse"] / results["pca/val_mse_clipped"]}  # fmt: skip


def pca_fit_seconds(data_dir: Path, k: int) -> float:
    from sklearn.decomposition import PCA

    from aelab.data.idx import read_idx

    x = read_idx(data_dir / "train-images-idx3-ubyte.gz").reshape(60000, -1)[:54000].astype(np.float32) / 255
    start = time.perf_counter()
    PCA(k).fit(x)
    return time.perf_counter() - start


def plot(record: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, row in record["rows"].items():
        points = row.get("curve") or row.get("runs") or []
        if points:
            xs, ys = [p["seconds"] for p in points], [p["ae_over_pca"] for p in points]
            ax.plot(xs, ys, "o-" if row.get("curve") else "s", label=name, markersize=4)
    for level in (0.75, 0.5, 0.45):
        ax.axhline(level, color="grey", linewidth=0.5, linestyle=":")
    ax.set_xscale("log")
    ax.set_xlabel("wall-clock seconds since launch (start-up, PCA and validation included)")
    ax.set_ylabel("test MSE / clipped PCA-k's")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    rows = ["preset_k64", "preset_k16", "preset_k2", "fast_k64_fp32", "fast_k64_bf16", "fast_k64_bf16_compile",
            "fast_k64_bf16_budgets", "fast_k16_bf16", "fast_k2_fp32", "fast_k2_bf16", "fast_k2_bf16_budgets"]  # fmt: skip
    parser.add_argument("--only", nargs="*", choices=rows, help="these rows only")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--preset-epochs", type=int, default=8)
    parser.add_argument("--budgets", type=int, nargs="+", default=[45, 180, 300])
    parser.add_argument("--budget-seeds", type=int, nargs="+", default=[0], help="the seeds of the budgets rows")
    parser.add_argument("--extra", nargs="*", default=[], help="overrides added to each run (a try, e.g. lr)")
    add_paths(parser, "time_to_quality", fashion=True)
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "time_to_quality.json")
    args = parser.parse_args()
    data_dir = fashion_dir(args.fashion_dir)
    data = [f"data.data_dir={data_dir}", "data.download=false"]
    previous = json.loads(args.results.read_text()) if args.results.is_file() and args.only else {}
    record = {"command": command(), "rows": previous.get("rows", {}),
              "pca_fit_seconds": {k: pca_fit_seconds(data_dir, k) for k in (2, 16, 64)},
              "umap_fit_seconds": umap_fit_seconds()}  # fmt: skip
    for row in args.only or rows:
        out = args.out / row
        k = row.split("_")[1]
        preset = PRESETS[k]  # the experiment and, at k=16, the code size on the k=64 preset's net
        if row.startswith("preset_"):
            overrides = [f"experiment={preset[0]}", *preset[1:], *data, *FP32, f"trainer.max_epochs={args.preset_epochs}",
                         f"model.scheduler.T_max={EPOCHS[preset[0]]}", "callbacks.model_checkpoint.save_top_k=-1"]  # fmt: skip
            _, launched, _ = timed_run(overrides, out)
            record["rows"][row] = {"overrides": overrides, "curve": scored_epochs(out, launched, data_dir)}
        else:
            precision = [*(BF16 if "bf16" in row else FP32), *(["model.compile=true"] if "compile" in row else [])]
            settings = [(seed, None) for seed in args.seeds]
            if row.endswith("budgets"):
                settings = [(seed, b) for b in args.budgets for seed in args.budget_seeds]
            runs = []
            for seed, budget in settings:
                extra = [*([f"budget={budget}"] if budget else []), *args.extra]
                overrides = [f"experiment={preset[0]}_fast", *preset[1:], *data, *precision, f"seed={seed}", *extra]
                folder = "_".join(
                    [str(seed), str(budget or "preset"), *(re.sub(r"[^\w.-]", "-", o) for o in args.extra)]
                )
                results, launched, ended = timed_run(overrides, out / folder)
                runs.append(final_point(results, launched, ended, seed) | {"budget": budget, "extra": args.extra})
                print(row, runs[-1], flush=True)
            key = lambda r: (r["seed"], r["budget"], tuple(r.get("extra", [])))  # noqa: E731
            kept = [r for r in record["rows"].get(row, {}).get("runs", [])  # --only adds to a row's other runs
                    if key(r) not in {key(n) for n in runs}]  # fmt: skip
            runs = sorted(kept + runs, key=lambda r: (r["budget"] or 0, r.get("extra", []), r["seed"]))
            record["rows"][row] = {"overrides": [f"experiment={preset[0]}_fast", *preset[1:], *precision], "runs": runs}
    path = write_record(args.results, record)
    plot(record, path.with_suffix(".png"))


if __name__ == "__main__":
    main()
