"""Training images/s of seed 002's deep conv AE on the CPU: a plain PyTorch loop vs train.py, fp32 and channels_last.

    python -m benchmarks.speed_conv_deep --batches 8 --batch-size 16 --epochs 2 --rounds 2

Both sides train the same net (model=conv_deep from the Hydra config, Adam, MSE) on the same Intel-layout tree of
real JPEGs (benchmarks/out/intel_tree, written once by benchmarks/intel_cache.py's helper), reading batches from
the same decoded cache (built before timing), uint8 -> float on the fly, --batches batches of --batch-size per
epoch at --image-size (the seed: 128). The plain loop is model(x), F.mse_loss, Adam, in fp32 and with the model
and inputs in channels_last. train.py runs as users run it (rich progress bar, W&B offline, checkpointing, the PCA
yardstick at fit start) with trainer.accelerator=cpu, trainer.limit_train_batches=--batches and
trainer.limit_val_batches=0 (no validation, as in the plain loop; ModelCheckpoint warns that val/loss is missing);
the analysis panels are off and the PCA fit is cut to a few hundred images (it runs before the first epoch, outside
the timed span). Images/s come from epoch_times.json (train.py) and from the same span in the plain loop. The first
epoch of every run is dropped (warm-up); the four variants alternate over --rounds, so drift in a shared machine's
speed hits them alike. CPU is slow here: about 0.36 s per 128x128 image forward + backward on one core of the
2-core CI machine. On a busy machine pass --threads 1: with other processes on the cores, torch's 2-thread kernels
were 2x (128x128) to 17x (32x32) slower than one thread there (the load average is printed with the results).
The defaults take about 15 minutes there (16 epochs of 128 images, plus train.py's start-up and PCA fit).
Target: train.py at most 1.10x the plain loop's seconds per image.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir

from aelab.instantiate import build
from benchmarks.common import ROOT, machine, run_train
from benchmarks.intel_cache import DEFAULT_TREE, intel_tree


def compose_cfg(overrides: list[str]):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose("train", overrides=["paths.root_dir=.", "paths.output_dir=.", *overrides])


def plain_loop(overrides: list[str], epochs: int, batches: int, channels_last: bool) -> tuple[list, list, int]:
    """Wall and CPU seconds of each epoch of ``batches`` training steps, and the images per epoch."""
    cfg = compose_cfg(overrides)
    torch.manual_seed(0)
    datamodule = build(cfg.data)
    datamodule.setup("fit")
    model = build(cfg.model)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = build(cfg.model.optimizer)(params=model.parameters())
    model.train()
    times, cpu_times, images = [], [], 0
    for _ in range(epochs):
        images = 0
        start, cpu_start = time.perf_counter(), time.process_time()
        for x, _ in itertools.islice(datamodule.train_dataloader(), batches):
            x = x.float().div_(255.0)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            loss = F.mse_loss(model(x), x)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            images += len(x)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    return times, cpu_times, images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=8, help="training batches per epoch (both sides)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--image-size", type=int, default=128, help="a multiple of 16 (the seed: 128)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per run; the first is dropped (warm-up)")
    parser.add_argument("--rounds", type=int, default=2, help="alternations of the four variants")
    parser.add_argument("--images", type=int, default=2100, help="train JPEGs in the generated tree")
    parser.add_argument("--tree", type=Path, default=DEFAULT_TREE, help="where the tree is written (or a real one)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads, both sides (0: torch's default)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "speed_conv_deep")
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be at least 2: the first epoch of every run is dropped")
    if args.threads:
        torch.set_num_threads(args.threads)
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # train.py's process inherits it

    tree = intel_tree(args.tree.resolve(), args.images)
    common = [
        "model=conv_deep",
        "data=intel",
        f"data.root={tree}",
        f"data.cache_dir={(args.out / 'cache').resolve()}",
        f"data.image_size={args.image_size}",
        f"data.batch_size={args.batch_size}",
    ]
    datamodule = build(compose_cfg(common).data)
    datamodule.setup("fit")  # decode once, before anything is timed; both sides then open this cache
    n_train = len(datamodule.splits["train"])
    if n_train < args.batches * args.batch_size:
        parser.error(f"{n_train} training images < --batches x --batch-size; pass a larger --images")
    del datamodule

    lightning_overrides = [
        *common,
        "trainer.accelerator=cpu",
        f"trainer.max_epochs={args.epochs}",
        f"trainer.limit_train_batches={args.batches}",
        "trainer.limit_val_batches=0",
        "test=false",
        "callbacks.latent_probe=null",
        "callbacks.latent_averages=null",
        "callbacks.reconstructions=null",
        # pca_baseline=null would not help (train.py adds the yardstick back); it runs before epoch 1 anyway
        "callbacks.pca_baseline.max_fit_samples=200",
        "callbacks.pca_baseline.probe_train_samples=200",
    ]
    variants = {  # name: (plain loop?, channels_last?)
        "plain PyTorch loop, fp32": (True, False),
        "plain PyTorch loop, channels_last": (True, True),
        "train.py, fp32": (False, False),
        "train.py, model.channels_last=true": (False, True),
    }
    seconds = {name: [] for name in variants}
    cpu = {name: [] for name in variants}
    for round_ in range(args.rounds):
        for name, (plain, channels_last) in variants.items():
            if plain:
                wall, cpu_s, images = plain_loop(common, args.epochs, args.batches, channels_last)
            else:
                out = args.out / f"round{round_}-{'channels_last' if channels_last else 'fp32'}"
                shutil.rmtree(out, ignore_errors=True)  # no stale epoch_times.json or checkpoints from a past run
                run_train([*lightning_overrides, f"model.channels_last={str(channels_last).lower()}"], out)
                timed = json.loads((out / "epoch_times.json").read_text())
                wall, cpu_s = timed["epoch_seconds"], timed["epoch_cpu_seconds"]
                images = args.batches * args.batch_size
            # seconds per image of every epoch but the first
            seconds[name] += [s / images for s in wall[1:]]
            cpu[name] += [s / images for s in cpu_s[1:]]
            print(f"round {round_} {name}: {images / statistics.median(wall[1:]):.2f} images/s", flush=True)

    med = statistics.median
    print(f"machine: {machine()}; {torch.get_num_threads()} torch threads; load average {os.getloadavg()[0]:.1f}")
    print(
        f"{args.batches} batches x {args.batch_size} images at {args.image_size}x{args.image_size}x3 per epoch; "
        f"epochs timed per variant: {len(seconds['train.py, fp32'])} ({args.rounds} rounds x {args.epochs - 1}, "
        "warm-up epoch dropped)"
    )
    print("| path | images/s (median) | images/s (fastest) | s/image (median) | CPU s/image (median) |")
    print("|---|---|---|---|---|")
    for name in variants:
        print(
            f"| {name} | {1 / med(seconds[name]):.2f} | {1 / min(seconds[name]):.2f} | "
            f"{med(seconds[name]):.3f} | {med(cpu[name]):.3f} |"
        )
    for layout in ("fp32", "channels_last"):
        plain = seconds[f"plain PyTorch loop, {layout}"]
        lightning = seconds["train.py, fp32" if layout == "fp32" else "train.py, model.channels_last=true"]
        print(
            f"| ratio train.py / plain, {layout} (s/image) | **{med(lightning) / med(plain):.3f}** (median) | "
            f"{min(lightning) / min(plain):.3f} (fastest) | | |"
        )
    print("target: train.py at most 1.10x the plain loop's seconds per image")


if __name__ == "__main__":
    main()
