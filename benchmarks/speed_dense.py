"""Seconds per epoch of seed 000's dense AE: a plain PyTorch loop vs train.py, same data, net and metrics.

    python benchmarks/speed_dense.py --data fashion --epochs 6

Both sides train on the same in-memory uint8 data module and validate with the same torchmetrics (MSE, PSNR,
SSIM) every epoch. train.py runs as users run it: rich progress bar, W&B (offline), checkpointing, the PCA
yardstick at fit start; the periodic analysis panels (probe, latent averages, reconstruction grid) are switched
off because the plain loop has no counterpart to them. The first epoch of each side is dropped (warm-up).
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

from aelab.models.build import build
from aelab.models.metrics import image_metrics
from benchmarks.common import ROOT, data_overrides, machine, run_train


def plain_loop(overrides: list[str], epochs: int) -> list[float]:
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=["paths.root_dir=.", "paths.output_dir=.", *overrides])
    torch.manual_seed(0)
    datamodule = build(cfg.data)
    datamodule.setup("fit")
    model = build(cfg.model)
    optimizer = build(cfg.model.optimizer)(params=model.parameters())
    metrics = image_metrics("val/")
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
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
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=["fashion", "sample"], default="fashion")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "speed_dense")
    args = parser.parse_args()

    common = ["model=dense", "model.scheduler=null", *data_overrides(args.data)]
    plain = plain_loop(common, args.epochs)
    lightning_overrides = [
        *common,
        f"trainer.max_epochs={args.epochs}",
        "test=false",
        "callbacks.latent_probe=null",
        "callbacks.latent_averages=null",
        "callbacks.reconstructions=null",
    ]
    run_train(lightning_overrides, args.out)
    lightning = json.loads((args.out / "epoch_times.json").read_text())["epoch_seconds"]

    plain_s, lightning_s = statistics.median(plain[1:]), statistics.median(lightning[1:])
    print(f"machine: {machine()}")
    print(
        f"plain loop  s/epoch (median of epochs 2..{args.epochs}): {plain_s:.3f}   all: {[round(t, 3) for t in plain]}"
    )
    print(
        f"train.py    s/epoch (median of epochs 2..{args.epochs}): {lightning_s:.3f}   all: {[round(t, 3) for t in lightning]}"
    )
    print(f"ratio train.py / plain: {lightning_s / plain_s:.3f}")


if __name__ == "__main__":
    main()
