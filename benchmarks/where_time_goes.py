"""Where an epoch of seed 000's dense AE goes in train.py: the parts issue 14 asked about, each timed on its own.

    python -m benchmarks.where_time_goes          # about 2 minutes on 2 cores; run it alone

All in one process, on the 54,000 Fashion-MNIST training and 6,000 validation images of aelab's data module, with
the model built from `experiment=seed_dense_mnist` (784-100-20-100-784, RMSprop, batch 128). Training-only epochs
(no validation, no logger, no checkpoints), seconds per epoch, median over --rounds rounds of 2 epochs each (the
first epoch of each fit is dropped):
  - bare loop: benchmarks/bare_loop.py, the loop a user writes, over the same loader;
  - Lightning, automatic optimization: the module forced onto Lightning's closure loop, one batch at a time;
  - Lightning, own steps: the module's manual-optimization steps, one batch at a time;
  - Lightning, own steps in groups of 8: data.group_batches=8 (the default);
  - each Lightning row again with 14 do-nothing callbacks: the default run has 14 callbacks.
Then, per epoch: the validation image metrics (MSE, PSNR, SSIM, rounded accuracy) over the 6,000 validation images
with torchmetrics' SSIM and with aelab's, and the NVML probe Lightning's PYTORCH_NVML_BASED_CUDA_CHECK=1 adds to
every optimizer step (torch.cuda.is_available() with and without it, times the 422 steps). Writes --results
(benchmarks/results/where_time_goes.json).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import warnings
from pathlib import Path

import pytorch_lightning as pl
import torch

from aelab.build import build
from aelab.models.metrics import image_metrics
from benchmarks.bare_loop import timed_epochs
from benchmarks.common import ROOT, add_paths, command, compose, fashion_dir, machine, write_record

warnings.filterwarnings("ignore")


class EpochClock(pl.Callback):
    def __init__(self) -> None:
        self.seconds: list[float] = []

    def on_train_epoch_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self.start = time.perf_counter()

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self.seconds.append(time.perf_counter() - self.start)


def lightning_epochs(cfg, datamodule, automatic: bool, group: int, callbacks: int) -> list[float]:
    pl.seed_everything(0, verbose=False)
    model = build(cfg.model)
    if automatic:
        model.automatic_optimization = True
    datamodule.group_batches = group
    clock = EpochClock()
    trainer = pl.Trainer(
        max_epochs=2, logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        limit_val_batches=0, num_sanity_val_steps=0, callbacks=[clock, *(pl.Callback() for _ in range(callbacks))],
    )  # fmt: skip
    trainer.fit(model, datamodule=datamodule)
    return clock.seconds[1:]


def bare_epochs(cfg, datamodule) -> list[float]:
    torch.manual_seed(0)
    model = build(cfg.model)
    optimizer = model.configure_optimizers()["optimizer"]
    datamodule.group_batches = 1
    wall, _ = timed_epochs(model, optimizer, lambda: (x for x, _ in datamodule.train_dataloader()), 2)
    return wall[1:]


def metric_seconds(datamodule, torchmetrics_ssim: bool) -> float:
    from torchmetrics.image import StructuralSimilarityIndexMeasure

    metrics = image_metrics("val/")
    if torchmetrics_ssim:
        metrics["ssim"] = StructuralSimilarityIndexMeasure(data_range=1.0)
    images = datamodule.splits["val"].images.float().div(255)
    noisy = (images + 0.05 * torch.randn_like(images)).clamp(0, 1)
    start = time.perf_counter()
    for x, x_hat in zip(images.split(512), noisy.split(512), strict=True):
        metrics.update(x_hat, x)
    metrics.compute()
    return time.perf_counter() - start


def probe_microseconds() -> float:
    start = time.perf_counter()
    for _ in range(2000):
        torch.cuda.is_available()
    return (time.perf_counter() - start) / 2000 * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_paths(parser, "where_time_goes", fashion=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "where_time_goes.json")
    args = parser.parse_args()
    cfg = compose(["experiment=seed_dense_mnist", "data=fashion_mnist", f"data.data_dir={fashion_dir(args.fashion_dir)}",
                   f"paths.output_dir={args.out}"])  # fmt: skip
    datamodule = build(cfg.data)
    datamodule.setup("fit")
    with_nvml = probe_microseconds()  # Lightning, imported above, set PYTORCH_NVML_BASED_CUDA_CHECK=1
    os.environ.pop("PYTORCH_NVML_BASED_CUDA_CHECK", None)
    without_nvml = probe_microseconds()
    rows = {"bare loop": lambda: bare_epochs(cfg, datamodule)}
    for callbacks in (0, 14):  # the default run has 14 callbacks
        for name, automatic, group in (("automatic optimization", True, 1), ("own steps", False, 1),
                                       ("own steps in groups of 8", False, 8)):  # fmt: skip
            label = f"Lightning, {name}" + (f", {callbacks} callbacks" if callbacks else "")
            rows[label] = lambda a=automatic, g=group, c=callbacks: lightning_epochs(cfg, datamodule, a, g, c)
    seconds: dict[str, list[float]] = {name: [] for name in rows}
    for number in range(args.rounds):  # the rows alternate, so a slow spell hits them alike
        for name, run in rows.items():
            seconds[name] += run()
        print(f"round {number + 1}:", {name: round(s[-1], 3) for name, s in seconds.items()}, flush=True)
    median = {name: statistics.median(s) for name, s in seconds.items()}
    steps = len(datamodule.splits["train"]) // 128 + 1
    record = {
        "command": command(),
        "machine": machine(),
        "training seconds per epoch (median)": median,
        "over the bare loop": {name: value / median["bare loop"] for name, value in median.items()},
        "validation image metrics, seconds per epoch": {
            "torchmetrics SSIM": metric_seconds(datamodule, True),
            "aelab SSIM": metric_seconds(datamodule, False),
        },
        "NVML probe": {
            "microseconds per torch.cuda.is_available(), Lightning's setting": with_nvml,
            "microseconds without it": without_nvml,
            "seconds per epoch it adds": (with_nvml - without_nvml) * 1e-6 * steps,
        },
        "all seconds": seconds,
    }
    write_record(args.results, record)
    print(json.dumps({k: v for k, v in record.items() if k != "all seconds"}, indent=2))


if __name__ == "__main__":
    main()
