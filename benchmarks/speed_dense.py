"""Seconds per epoch of seed 000's dense AE: a plain PyTorch loop vs train.py, same data, net and metrics.

    python benchmarks/speed_dense.py --data fashion --epochs 6

Both sides train on the same in-memory uint8 data module and validate with the same torchmetrics (MSE, PSNR,
SSIM) every epoch. train.py runs as users run it: rich progress bar, W&B (offline), checkpointing, the PCA
yardstick at fit start; the periodic analysis panels (probe, latent averages, reconstruction grid) are switched
off because the plain loop has no counterpart to them. The first epoch of each side is dropped (warm-up).
The two sides alternate for several rounds, so drift in a shared or virtual machine's speed hits both alike;
the median and the fastest epoch are both reported (noise only ever adds time, so the fastest is the cleanest).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir

from aelab.instantiate import build
from aelab.models.metrics import image_metrics
from benchmarks.common import ROOT, data_overrides, machine, run_train


def plain_loop(overrides: list[str], epochs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each epoch (train + validation with the same metrics as the AutoEncoder)."""
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=["paths.root_dir=.", "paths.output_dir=.", *overrides])
    torch.manual_seed(0)
    datamodule = build(cfg.data)
    datamodule.setup("fit")
    model = build(cfg.model)
    optimizer = build(cfg.model.optimizer)(params=model.parameters())
    metrics = image_metrics("val/")
    times, cpu_times = [], []
    for _ in range(epochs):
        start, cpu_start = time.perf_counter(), time.process_time()
        model.train()
        for x, _ in datamodule.train_dataloader():
            x = x.float().div_(255.0)
            loss = F.mse_loss(model(x), x)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            for x, _ in datamodule.val_dataloader():
                x = x.float().div_(255.0)
                metrics.update(model(x), x)
        metrics.compute()
        metrics.reset()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    return times, cpu_times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=["fashion", "sample"], default="fashion")
    parser.add_argument("--epochs", type=int, default=5, help="epochs per round and side")
    parser.add_argument("--rounds", type=int, default=5, help="alternations of plain loop and train.py")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "speed_dense")
    args = parser.parse_args()

    common = ["model=dense", "model.scheduler=null", *data_overrides(args.data)]
    lightning_overrides = [
        *common,
        f"trainer.max_epochs={args.epochs}",
        "test=false",
        "callbacks.latent_probe=null",
        "callbacks.latent_averages=null",
        "callbacks.reconstructions=null",
    ]
    plain, plain_cpu, lightning, lightning_cpu = [], [], [], []
    for round_ in range(args.rounds):
        wall, cpu = plain_loop(common, args.epochs)
        plain, plain_cpu = plain + wall[1:], plain_cpu + cpu[1:]
        out = args.out / f"round{round_}"
        run_train(lightning_overrides, out)
        timed = json.loads((out / "epoch_times.json").read_text())
        lightning += timed["epoch_seconds"][1:]
        lightning_cpu += timed["epoch_cpu_seconds"][1:]

    med = statistics.median
    print(f"machine: {machine()}")
    print(f"epochs timed per side: {len(plain)} ({args.rounds} rounds x {args.epochs - 1}, warm-up epoch dropped)")
    print("| path | wall s/epoch (median) | wall s/epoch (fastest) | CPU s/epoch (median) |")
    print("|---|---|---|---|")
    print(f"| plain PyTorch loop | {med(plain):.3f} | {min(plain):.3f} | {med(plain_cpu):.3f} |")
    print(f"| train.py | {med(lightning):.3f} | {min(lightning):.3f} | {med(lightning_cpu):.3f} |")
    print(
        f"| ratio train.py / plain | {med(lightning) / med(plain):.3f} | "
        f"{min(lightning) / min(plain):.3f} | {med(lightning_cpu) / med(plain_cpu):.3f} |"
    )


if __name__ == "__main__":
    main()
