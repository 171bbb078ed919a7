"""fp32 against bf16 autocast + channels_last for the conv nets on a CPU, through train.py: images/s and test MSE.

    python -m benchmarks.cpu_precision          # both nets: 3 seeds at 28x28, 2 at 128x128 (about 8 minutes, 2 cores)

For each net, train.py runs as users run it with ``trainer=cpu`` and, per seed, once in fp32
(``trainer.precision=32-true model.channels_last=false``) and once in bf16 autocast with the channels_last layout
(``trainer.precision=bf16-mixed model.channels_last=true``), one run after the other:
  - conv_strided at 28x28: the embedded MNIST sample (3,600 train, 1,000 test images), 10 epochs, batch 128;
  - conv_deep at 128x128x3: a generated Intel-layout tree of real JPEG scenes (aelab.data.synthetic; --per-class
    train and --test-per-class test images for each of the 6 classes), --deep-epochs epochs, batch 16.
Training speed is images per second of the training epochs (epoch_times.json: training plus validation, so the
validation images count too), the median over epochs after the first. Quality is the test MSE of the best checkpoint.
The choice ``trainer=cpu`` makes (``model.cpu_precision``) is bf16 where it is faster and the mean test MSE over the
seeds moves by at most 1%. Writes --results (benchmarks/results/cpu_precision.json). Run it alone on the machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from aelab.data.synthetic import make_intel_tree
from benchmarks.common import ROOT, add_paths, command, machine, run_train, write_record

VARIANTS = {
    "fp32": ["trainer.precision=32-true", "model.channels_last=false"],
    "bf16 + channels_last": ["trainer.precision=bf16-mixed", "model.channels_last=true"],
}


def images_per_second(run_dir: Path, images_per_epoch: int) -> float:
    seconds = json.loads((run_dir / "epoch_times.json").read_text())["epoch_seconds"]
    return images_per_epoch / statistics.median(seconds[1:] or seconds)


def measure(name: str, overrides: list[str], images_per_epoch: int, seeds: list[int], out: Path) -> dict:
    runs: dict[str, list[dict]] = {variant: [] for variant in VARIANTS}
    for seed in seeds:
        for variant, extra in VARIANTS.items():
            run_dir = out / name / f"{variant.replace(' ', '_').replace('+', '')}_{seed}"
            results, seconds = run_train(["trainer=cpu", *overrides, *extra, f"seed={seed}", "logger=csv"], run_dir)
            runs[variant].append(
                {
                    "seed": seed,
                    "test/mse": results["test/mse"],
                    "images/s": images_per_second(run_dir, images_per_epoch),
                    "run seconds": seconds,
                }
            )
            print(name, variant, json.dumps(runs[variant][-1]), flush=True)
    summary = {
        variant: {
            "test/mse mean": statistics.mean(r["test/mse"] for r in rs),
            "images/s median": statistics.median(r["images/s"] for r in rs),
        }
        for variant, rs in runs.items()
    }
    fp32, bf16 = summary["fp32"], summary["bf16 + channels_last"]
    mse_change = bf16["test/mse mean"] / fp32["test/mse mean"] - 1
    speedup = bf16["images/s median"] / fp32["images/s median"]
    choice = "bf16-mixed" if speedup > 1 and abs(mse_change) <= 0.01 else "32-true"
    return {"overrides": overrides, "runs": runs, "summary": summary, "bf16 speed-up": speedup,
            "test MSE change": mse_change, "choice": choice}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--nets", nargs="+", default=["conv_strided", "conv_deep"])
    parser.add_argument("--deep-seeds", type=int, nargs="+", default=[0, 1], help="conv_deep's seeds (fp32 is slow)")
    parser.add_argument("--per-class", type=int, default=20, help="conv_deep: train images per class")
    parser.add_argument("--test-per-class", type=int, default=10, help="conv_deep: test images per class")
    parser.add_argument("--deep-epochs", type=int, default=3)
    add_paths(parser, "cpu_precision")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "cpu_precision.json")
    args = parser.parse_args()
    record = {"command": command(), "machine": machine()}
    if "conv_strided" in args.nets:
        overrides = ["model=conv_strided", "model.latent_dim=20", "data.source=sample", "data.download=false",
                     "trainer.max_epochs=10"]  # fmt: skip
        record["conv_strided 28x28"] = measure("conv_strided", overrides, 4000, args.seeds, args.out)
    if "conv_deep" in args.nets:
        tree = args.out / f"intel_{args.per_class}_{args.test_per_class}"
        if not (tree / "seg_test").is_dir():
            make_intel_tree(tree, per_class=args.per_class, test_per_class=args.test_per_class, pred=0)
        overrides = ["model=conv_deep", "data=intel", f"data.root={tree}", f"data.cache_dir={args.out / 'cache'}",
                     f"trainer.max_epochs={args.deep_epochs}", "data.batch_size=16"]  # fmt: skip
        train_images = 6 * args.per_class  # the validation split is carved from these: all are passed once per epoch
        record["conv_deep 128x128"] = measure("conv_deep", overrides, train_images, args.deep_seeds, args.out)
    write_record(args.results, record)
    print(json.dumps({k: v.get("choice", v) if isinstance(v, dict) else v for k, v in record.items()}, indent=2))


if __name__ == "__main__":
    main()
