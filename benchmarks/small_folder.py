"""The AE against clipped PCA on a small folder of photos: what early stopping, augmentation and a smaller net do.

    python -m benchmarks.small_folder                # 4 variants x 2 seeds, about 5 minutes on 2 cores

A user's own folder is often a few hundred images. This writes 300 real JPEG scenes of 4 classes (aelab.data.synthetic:
smooth class-coloured scenes with a horizon and noise, 150x150) under --out once, and trains conv_strided at 64x64
with a 32-dim code on them through train.py (``data=image_folder``: 20% test, 10% of the rest validation, so
216 / 24 / 60 images), logger=csv, per seed:
  - "20 epochs": the run issue 14 reported (2.1x PCA-32, lower probe accuracy);
  - "early stopping": up to 100 epochs, stopped when val/loss has not improved for 10 (callbacks.early_stopping);
  - "+ augmentation": the same with left-right flips and shifts of up to 4 pixels (data.augment);
  - "+ smaller net": the same with half the channels (16-32 instead of 32-64).
Each run's test MSE against clipped PCA-32's on the same 60 test images, and the probe accuracies, go to --results
(benchmarks/results/small_folder.json). Run it alone on the machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import numpy as np

from aelab.data.synthetic import CLASSES, write_split
from benchmarks.common import ROOT, add_paths, command, machine, run_train, write_record

EARLY = ["trainer.max_epochs=100", "callbacks.early_stopping.patience=10"]
AUGMENT = ["data.augment.hflip=0.5", "data.augment.max_shift=4"]
SMALL = ["model.encoder.channels=[16,32]", "model.decoder.channels=[32,16]"]
VARIANTS = {
    "20 epochs": ["trainer.max_epochs=20", "callbacks.early_stopping=null"],
    "early stopping": EARLY,
    "+ augmentation": [*EARLY, *AUGMENT],
    "+ smaller net": [*EARLY, *AUGMENT, *SMALL],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    add_paths(parser, "small_folder")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "small_folder.json")
    args = parser.parse_args()
    folder = args.out / "photos"
    if not folder.is_dir():
        write_split(folder, per_class=75, rng=np.random.default_rng(0), classes=CLASSES[:4])
    base = ["data=image_folder", f"data.root={folder}", "data.image_size=64", f"data.cache_dir={args.out / 'cache'}",
            "model=conv_strided", "model.latent_dim=32", "logger=csv"]  # fmt: skip
    record: dict = {"command": command(), "machine": machine()}
    for name, extra in VARIANTS.items():
        runs = []
        for seed in args.seeds:
            run_dir = args.out / f"{name.replace(' ', '_').replace('+', 'plus')}_{seed}"
            results, seconds = run_train([*base, *extra, f"seed={seed}"], run_dir)
            epochs = len(json.loads((run_dir / "epoch_times.json").read_text())["epoch_seconds"])
            runs.append({"seed": seed, "epochs": epochs, "seconds": seconds, "ae/pca test MSE": results["ae_over_pca_test_mse"],
                         "probe": results["probe/test_acc"], "pca probe": results["pca/probe_test_acc"]})  # fmt: skip
            print(name, json.dumps(runs[-1]), flush=True)
        record[name] = {
            "overrides": extra,
            "runs": runs,
            "ae/pca test MSE (mean)": statistics.mean(r["ae/pca test MSE"] for r in runs),
            "probe - pca probe (mean)": statistics.mean(r["probe"] - r["pca probe"] for r in runs),
        }
    write_record(args.results, record)
    for name in VARIANTS:
        print(f"{name:16s} AE/PCA {record[name]['ae/pca test MSE (mean)']:.3f}  "
              f"probe - PCA probe {record[name]['probe - pca probe (mean)']:+.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
