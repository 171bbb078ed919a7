"""Seconds per epoch of seed 000's dense AE on full Fashion-MNIST: train.py as users run it, the bare PyTorch loop a
user would write instead, and Keras 3 ``model.fit`` with ``validation_data``, in one script on one machine.

    python -m benchmarks.speed_vs_keras            # needs: pip install -e ".[keras]" (tensorflow-cpu, keras)

Every side's per-epoch cost is (time at 13 epochs - time at 3 epochs) / 10 (``--epochs LOW HIGH``; issue 14 used 3
and 8): start-up, data loading, the PCA yardstick, compilation and the test are excluded, and whatever runs every
epoch or every few epochs (validation, metrics, panels, probes, checkpoints, logging) is included. train.py is timed
as whole processes of LOW and HIGH epochs with its defaults (`experiment=seed_dense_mnist data=fashion_mnist`,
default callbacks, W&B offline); the bare loop (benchmarks/bare_loop.py: shuffled index batches of a float tensor)
and Keras time their epochs from inside one HIGH-epoch run. The three sides run ``--rounds`` times, one after
another, each in its own process, and the ratios reported are the medians of each round's ratio: a shared 2-core
machine drifts by 20-30% within minutes. All train 784-100-20-100-784 (ReLU, sigmoid output) with RMSprop 1e-3 and
MSE, batch 128, on the same 54,000 training images, and compute the validation loss on the same 6,000 every epoch.
Writes ``--results`` (benchmarks/results/speed_vs_keras.json).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks.common import ROOT, add_paths, command, fashion_datamodule, machine, run_train, write_record

EPOCHS = [3, 13]  # set by --epochs; the sides below import torch or Keras themselves: never both in one process


def write_splits(fashion_dir: Path, folder: Path) -> None:
    """The train and validation images aelab's data module uses, saved as float32 (N, 784) arrays in [0, 1]: the
    sides load them without importing aelab (TensorFlow and torch in one process crash)."""
    import numpy as np

    datamodule = fashion_datamodule(fashion_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "val"):
        images = datamodule.splits[split].images
        np.save(folder / f"{split}.npy", images.reshape(len(images), -1).float().div(255).numpy())


def fashion_splits(folder: Path) -> list:
    import numpy as np

    return [np.load(folder / f"{split}.npy") for split in ("train", "val")]


def bare_side(folder: Path) -> list[float]:
    """Seconds at the end of each epoch of the bare loop."""
    import torch
    from torch import nn

    from benchmarks.bare_loop import timed_epochs

    train, val = (torch.from_numpy(a) for a in fashion_splits(folder))
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 20), nn.ReLU(), nn.Linear(20, 100),
                        nn.ReLU(), nn.Linear(100, 784), nn.Sigmoid())  # fmt: skip
    optimizer = torch.optim.RMSprop(net.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)  # Keras' RMSprop defaults

    def validate() -> None:
        loss = sum(nn.functional.mse_loss(net(x), x, reduction="sum") for x in val.split(512)) / val.numel()
        print(f"val loss {float(loss):.5f}", flush=True)

    def batches():  # shuffled index batches of a float tensor
        return (train[index] for index in torch.randperm(len(train)).split(128))

    wall, _ = timed_epochs(net, optimizer, batches, max(EPOCHS), validate)
    return list(itertools.accumulate(wall))


def keras_side(folder: Path) -> list[float]:
    """Seconds at the end of each epoch of Keras 3 model.fit(..., validation_data=...)."""
    import time

    import keras

    train, val = fashion_splits(folder)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(100, "relu"), keras.layers.Dense(20, "relu"),
                              keras.layers.Dense(100, "relu"), keras.layers.Dense(784, "sigmoid")])  # fmt: skip
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3), loss="mse")
    ends: list[float] = []
    start = time.perf_counter()
    timer = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: ends.append(time.perf_counter() - start))
    model.fit(
        train, train, batch_size=128, epochs=max(EPOCHS), validation_data=(val, val), callbacks=[timer], verbose=0
    )
    return ends


def per_epoch(ends: list[float]) -> float:
    low, high = EPOCHS
    return (ends[high - 1] - ends[low - 1]) / (high - low)


def run_side(side: str, folder: Path) -> dict:
    """Run ``side`` in a fresh process (so no side inherits another's threads or caches)."""
    cmd = [sys.executable, "-m", "benchmarks.speed_vs_keras", "--side", side, "--out", str(folder), "--epochs",
           *map(str, EPOCHS)]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ})
    if proc.returncode != 0:
        sys.exit(f"{side} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_paths(parser, "speed_vs_keras", fashion=True)
    parser.add_argument("--side", choices=["bare", "keras"], help="internal: run one side and print its epoch ends")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "speed_vs_keras.json")
    parser.add_argument("--breakdown", action="store_true", help="also time train.py with parts switched off")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of all three sides, one after another")
    parser.add_argument("--epochs", type=int, nargs=2, default=EPOCHS, metavar=("LOW", "HIGH"),
                        help="per epoch = (time at HIGH - time at LOW) / (HIGH - LOW); a wider gap dilutes start-up noise")  # fmt: skip
    args = parser.parse_args()
    EPOCHS[:] = args.epochs
    if args.side:
        ends = bare_side(args.out) if args.side == "bare" else keras_side(args.out)
        print(json.dumps({"ends": ends}))
        return

    overrides = ["experiment=seed_dense_mnist", "data=fashion_mnist", f"data.data_dir={args.fashion_dir}"]
    env = {**os.environ, "WANDB_MODE": "offline"}

    def train_py_per_epoch(name: str, extra: list[str]) -> tuple[float, dict[int, float]]:
        seconds = {}
        for epochs in EPOCHS:
            out = args.out / f"{name}_{epochs}"
            _, seconds[epochs] = run_train([*overrides, *extra, f"trainer.max_epochs={epochs}"], out, env)
        return (seconds[EPOCHS[1]] - seconds[EPOCHS[0]]) / (EPOCHS[1] - EPOCHS[0]), seconds

    write_splits(args.fashion_dir, args.out)
    rounds = []
    for number in range(args.rounds):  # the sides alternate, so a slow spell of a shared machine hits them alike
        train_py, seconds = train_py_per_epoch("train", [])
        bare = per_epoch(run_side("bare", args.out)["ends"])
        keras = per_epoch(run_side("keras", args.out)["ends"])
        rounds.append({"train.py": train_py, "bare loop": bare, "keras fit": keras,
                       "train.py runs": {str(k): v for k, v in seconds.items()}})  # fmt: skip
        print(json.dumps({"round": number + 1, **rounds[-1]}), flush=True)
    breakdown = {}
    if args.breakdown:  # where train.py's per-epoch time goes: parts switched off one layer at a time
        parts = [
            ("callbacks=none, no validation, no logger", "bare_lightning", ["callbacks=none", "logger=none",
                                                                           "trainer.limit_val_batches=0"]),
            ("callbacks=none, validation, no logger", "validation", ["callbacks=none", "logger=none"]),
            ("callbacks=minimal, validation, W&B", "minimal", ["callbacks=minimal"]),
        ]  # fmt: skip
        for name, folder, extra in parts:
            breakdown[name] = train_py_per_epoch(folder, extra)[0]
    keras_version = subprocess.run([sys.executable, "-c", "import keras; print(keras.__version__, keras.backend.backend())"],
                                   capture_output=True, text=True).stdout.split()  # fmt: skip
    sides = ("train.py", "bare loop", "keras fit")
    record = {
        "command": command(),
        "epochs": list(EPOCHS),
        "rounds": len(rounds),
        "machine": machine(),
        "keras": f"keras {keras_version[0]}, backend {keras_version[-1]}",
        "seconds_per_epoch (median of rounds)": {side: statistics.median(r[side] for r in rounds) for side in sides},
        "train.py / bare loop": statistics.median(r["train.py"] / r["bare loop"] for r in rounds),
        "train.py / keras": statistics.median(r["train.py"] / r["keras fit"] for r in rounds),
        "ratio is": "the median over rounds of each round's ratio",
        "targets": {"train.py / bare loop": 1.25, "train.py / keras": 0.75},
        "rounds_detail": rounds,
        "train.py breakdown, seconds per epoch": breakdown,
    }
    print(Path(write_record(args.results, record)).read_text())


if __name__ == "__main__":
    main()
