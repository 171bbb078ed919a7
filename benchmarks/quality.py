"""The variant zoo on full Fashion-MNIST (54k train / 6k validation, official 10k test), each against PCA at its k.

    python -m benchmarks.quality                                  # every variant, one seed
    python -m benchmarks.quality --only seed_dense linear deep_dense_fashion conv_strided --seeds 3   # headlines
    python -m benchmarks.quality --only dense --seeds 3 --jobs 3  # three train.py processes at once (a GPU box)

Each run is train.py as a user runs it (``logger=csv``), so every figure can be reproduced with the command stored
beside it. ``--seeds N`` reruns a variant with ``seed=0..N-1`` (from ``--first-seed``; or ``--seed-list 1 42``): the data split (``data.seed``) stays fixed, the
initial weights and the shuffling change. A run whose results.json exists is not rerun (pass --force), so an
interrupted table resumes where it stopped. Nonlinear AEs are compared with PCA clipped to [0, 1] (the stronger
yardstick), the linear AE with classic PCA. Writes one small JSON per variant (every seed's figures, mean and std)
to ``--results`` (committed: benchmarks/results/quality/) and the markdown table to ``<results>/table.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.common import DEBIAN_FASHION, ROOT, data_overrides, machine, run_train

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

# name -> (train.py overrides, epochs (None: the preset's), note)
VARIANTS: dict[str, tuple[list[str], int | None, str]] = {
    "seed_dense": (["experiment=seed_dense_mnist"], None, "seed 000's 784-100-20-100-784, RMSprop, cosine decay"),
    "linear": (["model=linear", *DENSE_K, *ADAM_COSINE], 15, "784-32-784, no activations"),
    "dense": (["model=dense", *DENSE_K, *ADAM_COSINE], 20, "seed 000's 784-100-k-100-784"),
    "undercomplete": (["model=undercomplete", *DENSE_K], 20, "seed 001's 784-32-784, BCE, Adadelta"),
    "deep_dense_fashion": (LONG_DEEP_DENSE, None, "784-1000-500-250-30, the preset (`experiment=deep_dense_fashion`)"),
    "conv64_fashion": (
        [*LONG_PANELS_OFF, "experiment=conv64_fashion"],
        None,
        "the k=64 preset (`experiment=conv64_fashion`)",
    ),
    "conv64_fashion_60ep": (
        [*LONG_PANELS_OFF, "experiment=conv64_fashion_60ep"],
        None,
        "the k=64 preset trained 60 epochs (`experiment=conv64_fashion_60ep`)",
    ),
    "conv64_fashion_wide_decoder": (
        [*LONG_PANELS_OFF, "experiment=conv64_fashion_wide_decoder"],
        None,
        "the k=64 preset with a 96-32 decoder (`experiment=conv64_fashion_wide_decoder`)",
    ),
    "conv64_fashion_gelu_b64": (
        [*LONG_PANELS_OFF, "experiment=conv64_fashion_gelu_b64"],
        None,
        "the k=64 preset with GELU, batch 64, Adam 2e-3, 35 epochs (`experiment=conv64_fashion_gelu_b64`)",
    ),
    "conv16_fashion": (
        [*LONG_PANELS_OFF, "experiment=conv64_fashion", "model.latent_dim=16"],
        None,
        "the k=64 preset at k=16 (`experiment=conv64_fashion model.latent_dim=16`)",
    ),
    "conv2_fashion": (
        [*LONG_PANELS_OFF, "experiment=conv2_fashion"],
        None,
        "the k=2 preset (`experiment=conv2_fashion`)",
    ),
    "conv2_fashion_gelu_b64": (
        [*LONG_PANELS_OFF, "experiment=conv2_fashion_gelu_b64"],
        None,
        "the k=2 preset with GELU, batch 64, 45 epochs (`experiment=conv2_fashion_gelu_b64`)",
    ),
    "conv2_fashion_funnel1024": (
        [*LONG_PANELS_OFF, "experiment=conv2_fashion_funnel1024"],
        None,
        "the k=2 preset with a 1024-256 dense funnel each side, 30 epochs (`experiment=conv2_fashion_funnel1024`)",
    ),
    "deep_dense_flip": ([*LONG_DEEP_DENSE, "data.augment.max_shift=0"], None, "the preset without shifts"),
    "deep_dense_noaug": (
        [*LONG_DEEP_DENSE, "data.augment.max_shift=0", "data.augment.hflip=0.0"],
        None,
        "the preset without flips and shifts",
    ),
    "denoising": (
        ["model=dense", *DENSE_K, *ADAM_COSINE, "noise=gaussian", "model.noise.factor=0.1"],
        20,
        "dense + Gaussian noise 0.1 (seed 003)",
    ),
    "sparse_l1": (
        ["model=dense", *DENSE_K, *ADAM_COSINE, "penalty=l1", "model.penalties.l1.weight=1e-4"],
        20,
        "dense + L1 activity 1e-4",
    ),
    "sparse_kl": (
        ["model=dense", *DENSE_K, *ADAM_COSINE, "penalty=kl_sparsity", "model.encoder.latent_activation=sigmoid"],
        20,
        "dense, sigmoid code, KL to rho=0.05",
    ),
    "k_sparse": (
        ["model=dense", *DENSE_K, *ADAM_COSINE, "penalty=ksparse", "model.code_transform.k=10"],
        20,
        "dense, top 10 of 32 units kept",
    ),
    "contractive": (
        [
            "model=dense",
            *DENSE_K,
            *ADAM_COSINE,
            "model.encoder.hidden_dims=[]",
            "model.encoder.latent_activation=sigmoid",
            "penalty=contractive",
            "model.penalties.contractive.weight=1e-4",
        ],
        20,
        "784-32 sigmoid encoder, closed-form CAE",
    ),
    "l2_code": (
        ["model=dense", *DENSE_K, *ADAM_COSINE, "penalty=l2_code", "model.penalties.l2.weight=1e-4"],
        20,
        "dense + L2 on the code layer (seed 003)",
    ),
    "conv": (["model=conv", "model/optimizer=adam", *ADAM_COSINE], 8, "seed 000's conv, 4x4x4=64 code"),
    "conv_strided": (["model=conv_strided", *DENSE_K, *ADAM_COSINE], 6, "seed 004's strided conv"),
    "vae": (["model=vae", *DENSE_K, *ADAM_COSINE], 20, "dense VAE, codes = posterior means"),
    "vae_conv": (["model=vae_conv", *DENSE_K, *ADAM_COSINE], 5, "strided conv VAE"),
}
NOT_RUN = {"conv_deep": "needs image sides divisible by 16 (28x28 is not); it is the Intel model"}
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
        }
        record_file.write_text(json.dumps(record, indent=2))
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


def short_machine(machine: str) -> str:
    """'H100' or '2 CPU cores' out of benchmarks.common.machine()'s description."""
    cores, _, rest = machine.partition(" (")
    gpu = rest.split(", ")[1] if ", " in rest else "no GPU"
    return cores if gpu == "no GPU" else gpu.replace("NVIDIA ", "")


def pm(summary: dict, key: str, fmt: str) -> str:
    mean, std = summary["mean"][key], summary["std"][key]
    return f"{mean:{fmt}} ± {std:{fmt}}" if summary["seeds"] > 1 else f"{mean:{fmt}}"


def row(s: dict) -> str:
    pca_key = "pca_clipped_test_mse" if s["yardstick"] == "clipped" else "pca_test_mse"
    return (
        f"| {s['variant']} | {s['k']} | {s['seeds']} | {pm(s, 'test_mse', '.5f')} | {s['mean'][pca_key]:.5f} "
        f"({s['yardstick']}) | **{pm(s, 'ae_over_pca', '.3f')}** | {pm(s, 'ae_probe_acc', '.3f')} | "
        f"{s['mean']['pca_probe_acc']:.3f} | {s['mean']['minutes']:.1f} | "
        f"{' + '.join(short_machine(m) for m in s['machines'])} | {s['note']} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=["fashion", "sample"], default="fashion")
    parser.add_argument("--only", nargs="*", choices=sorted(VARIANTS), help="run these variants only")
    parser.add_argument("--fashion-dir", type=Path, default=DEBIAN_FASHION, help="the Fashion-MNIST IDX files")
    parser.add_argument("--seeds", type=int, default=1, help="run each variant with N seeds: --first-seed, ...")
    parser.add_argument("--first-seed", type=int, default=0, help="the first seed of --seeds")
    parser.add_argument("--seed-list", type=int, nargs="*", help="exactly these seeds (instead of --seeds)")
    parser.add_argument("--jobs", type=int, default=1, help="train.py processes at once (1 on a 2-core machine)")
    parser.add_argument("--threads", type=int, default=0, help="OMP_NUM_THREADS of each run (0: unchanged)")
    parser.add_argument("--set", nargs="*", default=[], help="extra train.py overrides for every run")
    parser.add_argument("--epochs-scale", type=float, default=1.0, help="multiply every variant's epochs")
    parser.add_argument("--force", action="store_true", help="rerun variants that already have results")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "quality", help="run folders")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "quality")
    parser.add_argument("--table", default="table.md", help="name of the markdown table written into --results")
    args = parser.parse_args()

    names = args.only or list(VARIANTS)
    seeds = args.seed_list or range(args.first_seed, args.first_seed + args.seeds)
    tasks = [(name, seed) for name in names for seed in seeds]
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        done = dict(zip(tasks, pool.map(lambda t: run_once(*t, args), tasks)))
    args.results.mkdir(parents=True, exist_ok=True)
    summaries = [summarise(name, [done[(name, seed)] for seed in seeds]) for name in names]
    for summary in summaries:
        (args.results / f"{summary['variant']}.json").write_text(json.dumps(summary, indent=2))
    rows = [row(summary) for summary in summaries]
    machines = sorted({run["machine"] for run in done.values()})
    table = [
        *(f"machine: {m}" for m in machines),
        "",
        "| variant | k | seeds | AE test MSE | PCA test MSE (yardstick) | AE / PCA | AE probe acc | PCA probe acc "
        "| minutes per run | machine | what |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        *(f"| {name} | - | - | - | - | - | - | - | - | - | not run: {why} |" for name, why in NOT_RUN.items()),
    ]
    pca_by_k = {s["k"]: s["mean"] for s in summaries}  # PCA depends only on k and the (fixed) split
    table += [
        "",
        "| k | classic PCA test MSE | clipped PCA test MSE | clipped / classic |",
        "|---|---|---|---|",
        *(
            f"| {k} | {m['pca_test_mse']:.5f} | {m['pca_clipped_test_mse']:.5f} | "
            f"{m['pca_clipped_test_mse'] / m['pca_test_mse']:.3f} |"
            for k, m in sorted(pca_by_k.items())
        ),
    ]
    (args.results / args.table).write_text("\n".join(table) + "\n")
    print("\n".join(table))


if __name__ == "__main__":
    main()
