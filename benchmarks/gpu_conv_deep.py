"""Training images/s of seed 002's deep conv AE on one CUDA GPU: fp32, bf16, bf16 + channels_last, + torch.compile.

    python -m benchmarks.gpu_conv_deep --batch-size 64 --warmup 15 --steps 100 --repeats 3

Isolates the model: synthetic uint8 images (a pool of --pool batches of 64 x 3 x 128 x 128) already on the GPU,
so no data loading or host-to-device copy is timed. Each step (benchmarks/bare_loop.py) is what the AutoEncoder's
training step does in train.py: x.float().div_(255) (then channels_last when asked), model(x), MSE, zero_grad, backward, Adam step; bf16
runs under torch.autocast(device_type="cuda", dtype=torch.bfloat16), as trainer.precision=bf16-mixed does, and
compile compiles the encoder and decoder in place as model.compile=true does. The net comes from the Hydra config
(model=conv_deep, Adam at the configured learning rate). cudnn.benchmark is on, as in conf/trainer/gpu.yaml; the
"fp32" variant keeps PyTorch's default, under which cuDNN may run fp32 convolutions in TF32 (printed below).
After --warmup steps (which include compiling), --steps steps are timed between torch.cuda.synchronize() calls,
--repeats times; the median repeat is reported. The projection is the seed's --epochs epochs over --train-images
images (seed 002: 50 epochs of 14,034 images in about 90 minutes) at the timed step rate, without validation or
data loading.
Exits with a message and status 1 when no CUDA GPU is visible.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

import torch

from aelab.build import build
from benchmarks.bare_loop import train_steps
from benchmarks.common import command, compose, machine, write_record

VARIANTS = {  # key: (label, bf16 autocast, channels_last, torch.compile)
    "fp32": ("fp32", False, False, False),
    "bf16": ("bf16 autocast", True, False, False),
    "bf16_cl": ("bf16 + channels_last", True, True, False),
    "bf16_cl_compile": ("bf16 + channels_last + torch.compile", True, True, True),
}
SEED_MINUTES = 90.0


def measure(
    bf16: bool, channels_last: bool, compiled: bool, args: argparse.Namespace
) -> tuple[list[float], float, float]:
    """Images/s of each timed repeat, the peak GPU memory (GiB) and the seconds spent warming up."""
    torch.manual_seed(0)
    device = torch.device("cuda")
    # data=intel: only its shape is read (model.input_shape is ${data.shape})
    cfg = compose(["model=conv_deep", "data=intel", f"data.image_size={args.image_size}"])
    model = build(cfg.model).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    if compiled:  # as AutoEncoder.configure_model does for model.compile=true
        model.encoder.compile()
        model.decoder.compile()
    optimizer = build(cfg.model.optimizer)(params=model.parameters())
    model.train()
    shape = (args.pool, args.batch_size, 3, args.image_size, args.image_size)
    pool = torch.randint(0, 256, shape, dtype=torch.uint8, device=device)
    autocast = torch.autocast(device_type="cuda", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()

    def steps(n: int) -> None:  # the bare loop's steps over the pool's batches, timed between synchronisations
        torch.cuda.synchronize()
        train_steps(model, optimizer, (pool[i % args.pool] for i in range(n)), channels_last, autocast)
        torch.cuda.synchronize()

    torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    steps(args.warmup)
    warmup_seconds = time.perf_counter() - start
    rates = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        steps(args.steps)
        rates.append(args.steps * args.batch_size / (time.perf_counter() - start))
    return rates, torch.cuda.max_memory_allocated() / 2**30, warmup_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--image-size", type=int, default=128, help="a multiple of 16 (the seed: 128)")
    parser.add_argument("--warmup", type=int, default=15, help="untimed steps first (compiling happens here)")
    parser.add_argument("--steps", type=int, default=100, help="timed steps per repeat")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per variant (median reported)")
    parser.add_argument("--pool", type=int, default=8, help="distinct synthetic batches cycled through")
    parser.add_argument("--epochs", type=int, default=50, help="for the projection (seed 002: 50)")
    parser.add_argument("--train-images", type=int, default=14034, help="for the projection (seed 002: 14,034)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    parser.add_argument(
        "--only", nargs="+", choices=list(VARIANTS), default=list(VARIANTS), help="variants to run (default: all four)"
    )
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit(
            f"gpu_conv_deep: no CUDA GPU is visible (torch {torch.__version__}, CUDA build "
            f"{torch.version.cuda or 'none'}); run this on a machine with an NVIDIA GPU. Nothing was measured."
        )
    torch.backends.cudnn.benchmark = True

    results = {}
    for key in args.only:
        name, bf16, channels_last, compiled = VARIANTS[key]
        if bf16 and not torch.cuda.is_bf16_supported():
            print(f"{name}: skipped, this GPU has no bf16 support", flush=True)
            continue
        results[name] = measure(bf16, channels_last, compiled, args)
        print(f"{name}: {statistics.median(results[name][0]):.0f} images/s", flush=True)
        torch._dynamo.reset()  # drop compiled graphs and the memory of the previous variant
        torch.cuda.empty_cache()

    figures = {
        name: {
            "images_per_s": rates,
            "median_images_per_s": statistics.median(rates),
            "peak_gib": peak,
            "warmup_s": warmup_seconds,
            "projected_minutes": args.epochs * args.train_images / statistics.median(rates) / 60,
        }
        for name, (rates, peak, warmup_seconds) in results.items()
    }
    print(f"machine: {machine()}")
    print(
        f"batch {args.batch_size} x 3 x {args.image_size} x {args.image_size} uint8 on the GPU; {args.warmup} warm-up "
        f"steps, then {args.repeats} x {args.steps} timed steps per variant; cudnn.benchmark on, "
        f"cudnn.allow_tf32={torch.backends.cudnn.allow_tf32}"
    )
    print(
        f"| variant | images/s (median; x first row) | images/s (best) | peak GiB | warm-up s | projected {args.epochs} "
        f"epochs x {args.train_images:,} images (min) | speed-up vs the seed's ~{SEED_MINUTES:.0f} min |"
    )
    print("|---|---|---|---|---|---|---|")
    base = next(iter(figures.values()), {}).get("median_images_per_s")
    for name, f in figures.items():
        print(
            f"| {name} | {f['median_images_per_s']:.0f} ({f['median_images_per_s'] / base:.2f}x) | "
            f"{max(f['images_per_s']):.0f} | {f['peak_gib']:.2f} | {f['warmup_s']:.1f} | {f['projected_minutes']:.1f} | "
            f"{SEED_MINUTES / f['projected_minutes']:.1f}x |"
        )
    print("projection: training steps only (no validation, data loading, checkpoints or the PCA yardstick)")
    if args.json:
        settings = {**vars(args), "json": str(args.json), "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32}
        write_record(
            args.json, {"command": command(), "settings": {**settings, "machine": machine()}, "variants": figures}
        )


if __name__ == "__main__":
    main()
