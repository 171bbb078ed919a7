"""The variant zoo on full Fashion-MNIST (54k train / 6k validation, official 10k test), each against PCA at its k.

    python -m benchmarks.quality                                  # every variant, one seed
    python -m benchmarks.quality --only seed_dense linear deep_dense_fashion conv_strided --seeds 3   # headlines
    python -m benchmarks.quality --only dense --seeds 3 --jobs 3  # three train.py processes at once (a GPU box)

Each run is train.py as a user runs it (``logger=csv``), so every figure can be reproduced with the command stored
beside it. ``--seeds N`` reruns a variant with ``seed=0..N-1`` (from ``--first-seed``; or ``--seed-list 1 42``): the data split (``data.seed``) stays fixed, the
initial weights and the shuffling change. A run whose results.json exists is not rerun (pass --force), so an
interrupted table resumes where it stopped. Nonlinear AEs are compared with PCA clipped to [0, 1] (the stronger
yardstick), the linear AE with classic PCA. Writes one small JSON per variant (every seed's figures, mean and std)
to ``--results`` (committed: benchmarks/results/quality/); ``python -m benchmarks.render`` writes results.md's tables from them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.common import ROOT, add_paths, data_overrides, machine, run_train, write_record

K = 32  # the common code size, where the net allows it
DENSE_K = [f"model.latent_dim={K}"]
# a cosine decay of the learning rate to zero over the run (T_max follows trainer.max_epochs)
ADAM_COSINE = [
    "model.scheduler={_target_:torch.optim.lr_scheduler.CosineAnnealingLR,_partial_:true,T_max:${trainer.max_epochs}}"
]
# long runs: per-epoch image panels off, the probe only at the end
LONG_PANELS_OFF = [
    "callbacks.reconstructions=null",
    "callbacks.latent_averages=null",
    "callbacks.latent_probe.every_n_epochs=1000",
]
LONG_DEEP_DENSE = ["experiment=deep_dense_fashion", *LONG_PANELS_OFF]

# The steps of the sweep that led to fashion_k64 and fashion_k2 (their figures stay in results/quality/): the presets
# with the settings they had then. The variant names are the presets' names at the time.
RELU = "model.encoder.activation=relu model.decoder.activation=relu"
K64_RELU_B128 = f"{RELU} data.batch_size=128 model.optimizer.lr=0.001 trainer.max_epochs=45"
K2_FUNNEL256 = "model.encoder.dense_dims=[256] model.decoder.dense_dims=[256]"
K2_RELU_B512 = f"{RELU} data.batch_size=512 {K2_FUNNEL256}"

Variant = tuple[list[str], int | None, str]  # train.py overrides, epochs (None: the preset's), note


def preset(overrides: str, what: str) -> Variant:
    """A long run of an experiment preset, panels off; its note names the overrides."""
    return [*LONG_PANELS_OFF, *overrides.split()], None, f"{what} (`{overrides}`)"


def dense(extra: str, note: str, model: str = "model=dense", epochs: int = 20) -> Variant:
    """A net at k=32 with Adam's cosine decay (seed 000's dense net unless ``model`` says otherwise), plus ``extra``."""
    return [model, *DENSE_K, *ADAM_COSINE, *extra.split()], epochs, note


VARIANTS: dict[str, Variant] = {
    "seed_dense": (["experiment=seed_dense_mnist"], None, "seed 000's 784-100-20-100-784, RMSprop, cosine decay"),
    "linear": dense("", "784-32-784, no activations", "model=linear", 15),
    "dense": dense("", "seed 000's 784-100-k-100-784"),
    "undercomplete": (["model=undercomplete", *DENSE_K], 20, "seed 001's 784-32-784, BCE, Adadelta"),
    "deep_dense_fashion": (LONG_DEEP_DENSE, None, "784-1000-500-250-30, the preset (`experiment=deep_dense_fashion`)"),
    "conv64_fashion": preset(f"experiment=fashion_k64 {K64_RELU_B128}", "the k=64 preset's first form"),
    "conv64_fashion_60ep": preset(f"experiment=fashion_k64 {K64_RELU_B128} trainer.max_epochs=60", "... 60 epochs"),
    "conv64_fashion_wide_decoder": preset(
        f"experiment=fashion_k64 {K64_RELU_B128} model.decoder.channels=[96,32] model.decoder.feature_channels=96",
        "the k=64 preset's first form with a 96-32 decoder",
    ),
    "conv64_fashion_gelu_b64": preset(
        "experiment=fashion_k64", "the k=64 preset: GELU, batch 64, Adam 2e-3, 35 epochs"
    ),
    "conv16_fashion": preset(f"experiment=fashion_k64 {K64_RELU_B128} model.latent_dim=16", "... at k=16"),
    "conv2_fashion": preset(f"experiment=fashion_k2 {K2_RELU_B512}", "the k=2 preset's first form"),
    "conv2_fashion_gelu_b64": preset(
        f"experiment=fashion_k2 {K2_FUNNEL256} trainer.max_epochs=45", "the k=2 preset with a 256 funnel, 45 epochs"
    ),
    "conv2_fashion_funnel1024": preset("experiment=fashion_k2", "the k=2 preset: a 1024-256 funnel each side"),
    "deep_dense_flip": ([*LONG_DEEP_DENSE, "data.augment.max_shift=0"], None, "the preset without shifts"),
    "deep_dense_noaug": (
        [*LONG_DEEP_DENSE, "data.augment.max_shift=0", "data.augment.hflip=0.0"],
        None,
        "the preset without flips and shifts",
    ),
    "denoising": dense("noise=gaussian model.noise.factor=0.1", "dense + Gaussian noise 0.1 (seed 003)"),
    "sparse_l1": dense("penalty=l1 model.penalties.l1.weight=1e-4", "dense + L1 activity 1e-4"),
    "sparse_kl": dense(
        "penalty=kl_sparsity model.encoder.latent_activation=sigmoid", "dense, sigmoid code, KL to rho=0.05"
    ),
    "k_sparse": dense("penalty=ksparse model.code_transform.k=10", "dense, top 10 of 32 units kept"),
    "contractive": dense(
        "model.encoder.hidden_dims=[] model.encoder.latent_activation=sigmoid penalty=contractive "
        "model.penalties.contractive.weight=1e-4",
        "784-32 sigmoid encoder, closed-form CAE",
    ),
    "l2_code": dense("penalty=l2_code model.penalties.l2.weight=1e-4", "dense + L2 on the code layer (seed 003)"),
    "conv": (["model=conv", "model/optimizer=adam", *ADAM_COSINE], 8, "seed 000's conv, 4x4x4=64 code"),
    "conv_strided": dense("", "seed 004's strided conv", "model=conv_strided", 6),
    "vae": dense("", "dense VAE, codes = posterior means", "model=vae"),
    "vae_conv": dense("", "strided conv VAE", "model=vae_conv", 5),
}
NOT_RUN = {
    "conv_deep": "needs image sides that are multiples of 8 from 16 up and a code on its grid; it is the Intel model"
}
# what each run contributes to its variant's JSON: name -> results.json key
FIGURES = {
    "test_mse": "test/mse",
    "pca_test_mse": "pca/test_mse",
    "pca_clipped_test_mse": "pca/test_mse_clipped",
    "ae_over_pca": "ae_over_pca_test_mse",
    "ae_probe_acc": "probe/test_acc",
    "pca_probe_acc": "pca/probe_test_acc",
}


def run_once(name: str, seed: int, args: argparse.Namespace) -> dict:
    """One train.py run of a variant at a seed (or its stored results); the figures and the command."""
    overrides, epochs, _ = VARIANTS[name]
    out_dir = args.out / name / f"seed{seed}"
    done, record_file = out_dir / "results.json", out_dir / "benchmark.json"
    if done.is_file() and record_file.is_file() and not args.force:
        m, record = json.loads(done.read_text()), json.loads(record_file.read_text())
    else:
        if epochs is not None:
            epochs = max(1, round(epochs * args.epochs_scale))
        cmd = [
            *overrides,
            *data_overrides(args.data, args.fashion_dir),
            *([f"trainer.max_epochs={epochs}"] if epochs is not None else []),
            f"seed={seed}",
            "logger=csv",
            "callbacks.progress_bar=null",
            "callbacks.model_summary=null",
            *args.set,
        ]
        env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)} if args.threads else None
        m, seconds = run_train(cmd, out_dir, env=env)
        times = json.loads((out_dir / "epoch_times.json").read_text())["epoch_seconds"]
        record = {
            "command": "python train.py " + " ".join(cmd),
            "minutes": seconds / 60,
            "median_epoch_seconds": statistics.median(times),
            "epochs": len(times),
            "machine": machine(),
            "threads": args.threads or None,  # --threads: the run's OMP_NUM_THREADS (provenance has this process's)
        }
        record = json.loads(write_record(record_file, record).read_text())
    figures = {key: m.get(metric, float("nan")) for key, metric in FIGURES.items()}
    yardstick = "clipped" if m.get("pca/yardstick_clipped", 0.0) > 0 else "classic"
    return {"seed": seed, "k": int(m["pca/k"]), "yardstick": yardstick, **figures, **record}


def summarise(name: str, runs: list[dict]) -> dict:
    """Mean and standard deviation over seeds of every figure (std is 0 for a single seed)."""
    keys = [*FIGURES, "minutes", "median_epoch_seconds"]
    mean = {key: statistics.fmean(r[key] for r in runs) for key in keys}
    std = {key: statistics.stdev(r[key] for r in runs) if len(runs) > 1 else 0.0 for key in keys}
    note = VARIANTS[name][2]
    machines = sorted({r["machine"] for r in runs})
    return {"variant": name, "note": note, "k": runs[0]["k"], "yardstick": runs[0]["yardstick"], "seeds": len(runs),
            "machines": machines, "mean": mean, "std": std, "runs": runs}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=["fashion", "sample"], default="fashion")
    parser.add_argument("--only", nargs="*", choices=sorted(VARIANTS), help="run these variants only")
    parser.add_argument("--seeds", type=int, default=1, help="run each variant with N seeds: --first-seed, ...")
    parser.add_argument("--first-seed", type=int, default=0, help="the first seed of --seeds")
    parser.add_argument("--seed-list", type=int, nargs="*", help="exactly these seeds (instead of --seeds)")
    parser.add_argument("--jobs", type=int, default=1, help="train.py processes at once (1 on a 2-core machine)")
    parser.add_argument("--threads", type=int, default=0, help="OMP_NUM_THREADS of each run (0: unchanged)")
    parser.add_argument("--set", nargs="*", default=[], help="extra train.py overrides for every run")
    parser.add_argument("--epochs-scale", type=float, default=1.0, help="multiply every variant's epochs")
    parser.add_argument("--force", action="store_true", help="rerun variants that already have results")
    add_paths(parser, "quality", fashion=True)
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "quality")
    args = parser.parse_args()

    names = args.only or list(VARIANTS)
    seeds = args.seed_list or range(args.first_seed, args.first_seed + args.seeds)
    tasks = [(name, seed) for name in names for seed in seeds]
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        done = dict(zip(tasks, pool.map(lambda t: run_once(*t, args), tasks)))
    args.results.mkdir(parents=True, exist_ok=True)
    summaries = [summarise(name, [done[(name, seed)] for seed in seeds]) for name in names]
    for summary in summaries:
        write_record(args.results / f"{summary['variant']}.json", summary)
    print(f"wrote {len(summaries)} records to {args.results}; the tables of results.md come from them: "
          "python -m benchmarks.render")  # fmt: skip


if __name__ == "__main__":
    main()
