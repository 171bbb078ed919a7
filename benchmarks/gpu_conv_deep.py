"""Training images/s of seed 002's deep conv AE on one CUDA GPU: fp32, bf16, bf16 + channels_last, + torch.compile.

    python -m benchmarks.gpu_conv_deep --batch-size 64 --warmup 15 --steps 100 --repeats 3

Isolates the model: synthetic uint8 images (a pool of --pool batches of 64 x 3 x 128 x 128) already on the GPU,
so no data loading or host-to-device copy is timed. Each step is what the AutoEncoder's training step does in
train.py: x.float().div_(255) (then channels_last when asked), model(x), MSE, zero_grad, backward, Adam step; bf16
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
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir

from aelab.instantiate import build
from benchmarks.common import ROOT, machine

VARIANTS = {  # key: (label, bf16 autocast, channels_last, torch.compile)
    "fp32": ("fp32", False, False, False),
    "bf16": ("bf16 autocast", True, False, False),
    "bf16_cl": ("bf16 + channels_last", True, True, False),
    "bf16_cl_compile": ("bf16 + channels_last + torch.compile", True, True, True),
}
SEED_MINUTES = 90.0


def build_model(image_size: int):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                "paths.root_dir=.",
                "paths.output_dir=.",
                "model=conv_deep",
                "data=intel",  # only its shape is read: model.input_shape is ${data.shape}
                f"data.image_size={image_size}",
            ],
        )
    return build(cfg.model), cfg.model.optimizer


def measure(
    bf16: bool, channels_last: bool, compiled: bool, args: argparse.Namespace
) -> tuple[list[float], float, float]:
    """Images/s of each timed repeat, the peak GPU memory (GiB) and the seconds spent warming up."""
    torch.manual_seed(0)
    device = torch.device("cuda")
    model, optimizer_cfg = build_model(args.image_size)
    model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    if compiled:  # as AutoEncoder.configure_model does for model.compile=true
        model.encoder.compile()
        model.decoder.compile()
    optimizer = build(optimizer_cfg)(params=model.parameters())
    model.train()
    shape = (args.pool, args.batch_size, 3, args.image_size, args.image_size)
    pool = torch.randint(0, 256, shape, dtype=torch.uint8, device=device)
    autocast = torch.autocast(device_type="cuda", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()

    def step(i: int) -> None:
        x = pool[i % args.pool].float().div_(255.0)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast:
            loss = F.mse_loss(model(x), x)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for i in range(args.warmup):
        step(i)
    torch.cuda.synchronize()
    warmup_seconds = time.perf_counter() - start
    rates = []
    for _ in range(args.repeats):
        torch.cuda.synchronize()
        start = time.perf_counter()
        for i in range(args.steps):
            step(i)
        torch.cuda.synchronize()
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
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
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

    per_epoch = args.train_images
    print(f"machine: {machine()}")
    print(
        f"batch {args.batch_size} x 3 x {args.image_size} x {args.image_size} uint8 on the GPU; {args.warmup} warm-up "
        f"steps, then {args.repeats} x {args.steps} timed steps per variant; cudnn.benchmark on, "
        f"cudnn.allow_tf32={torch.backends.cudnn.allow_tf32}"
    )
    print(
        f"| variant | images/s (median; x first row) | images/s (best) | peak GiB | warm-up s | "
        f"projected {args.epochs} epochs x {per_epoch:,} images (min) | "
        f"speed-up vs the seed's ~{SEED_MINUTES:.0f} min |"
    )
    print("|---|---|---|---|---|---|---|")
    base = None
    for name, (rates, peak, warmup_seconds) in results.items():
        rate = statistics.median(rates)
        minutes = args.epochs * per_epoch / rate / 60
        base = base or rate
        print(
            f"| {name} | {rate:.0f} ({rate / base:.2f}x) | {max(rates):.0f} | {peak:.2f} | {warmup_seconds:.1f} | "
            f"{minutes:.1f} | {SEED_MINUTES / minutes:.1f}x |"
        )
    print("projection: training steps only (no validation, data loading, checkpoints or the PCA yardstick)")
    if args.json:
        figures = {
            name: {
                "images_per_s": rates,
                "median_images_per_s": statistics.median(rates),
                "peak_gib": peak,
                "warmup_s": warmup_seconds,
                "projected_minutes": args.epochs * per_epoch / statistics.median(rates) / 60,
            }
            for name, (rates, peak, warmup_seconds) in results.items()
        }
        settings = {**vars(args), "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32, "machine": machine()}
        with open(args.json, "w") as f:
            json.dump({"settings": settings, "variants": figures}, f, indent=2)


if __name__ == "__main__":
    main()
