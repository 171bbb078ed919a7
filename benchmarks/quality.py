"""The variant zoo on full Fashion-MNIST (54k train / 6k validation, official 10k test), each against PCA at its k.

    python -m benchmarks.quality                      # every variant (about an hour on 2 CPU cores)
    python -m benchmarks.quality --only linear deep_dense --epochs-scale 0.5

Each variant runs train.py as a user would (``logger=csv``), so every figure can be reproduced with the printed
command. A variant whose results.json already exists is not rerun (pass --force), so an interrupted table resumes
where it stopped. Prints a markdown table (test MSE, PCA test MSE at the same k, ratio, probe accuracy of the
codes vs PCA's, parameters, minutes) and writes it to <out>/table.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.common import ROOT, data_overrides, machine, run_train

K = 32  # the common code size, where the net allows it
DENSE_K = [f"model.latent_dim={K}"]
# a cosine decay of the learning rate to zero over the run (T_max follows trainer.max_epochs)
ADAM_COSINE = [
    "model.scheduler={_target_:torch.optim.lr_scheduler.CosineAnnealingLR,_partial_:true,T_max:${trainer.max_epochs}}"
]
# the deep dense AE for long runs: per-epoch image panels off, the probe only at the end
LONG_DEEP_DENSE = [
    "experiment=deep_dense_fashion",
    "callbacks.reconstructions=null",
    "callbacks.latent_averages=null",
    "callbacks.latent_probe.every_n_epochs=40",
]

# name -> (train.py overrides, epochs, note)
VARIANTS: dict[str, tuple[list[str], int, str]] = {
    "linear": (["model=linear", *DENSE_K, *ADAM_COSINE], 15, "784-32-784, no activations"),
    "dense": (["model=dense", *DENSE_K, *ADAM_COSINE], 20, "seed 000's 784-100-k-100-784"),
    "undercomplete": (["model=undercomplete", *DENSE_K], 20, "seed 001's 784-32-784, BCE, Adadelta"),
    "deep_dense": (
        ["experiment=deep_dense_fashion", "data.augment.hflip=0.0"],
        50,
        "784-1000-500-250-30 (Hinton 2006), k=30, no flips",
    ),
    "deep_dense_120": (
        [*LONG_DEEP_DENSE, "data.augment.hflip=0.0"],
        120,
        "deep_dense, 120 epochs, no flips",
    ),
    "deep_dense_flip": (
        [*LONG_DEEP_DENSE, "data.augment.hflip=0.5"],
        120,
        "deep_dense, 120 epochs, random left-right flips (the preset)",
    ),
    "deep_dense_flip_160": (
        [*LONG_DEEP_DENSE, "data.augment.hflip=0.5"],
        160,
        "deep_dense, 160 epochs, random left-right flips",
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


def row(name: str, m: dict, minutes: float, note: str) -> str:
    return (
        f"| {name} | {int(m['pca/k'])} | {m['test/mse']:.5f} | {m['pca/test_mse']:.5f} | "
        f"{m['ae_over_pca_test_mse']:.3f} | {m.get('probe/test_acc', float('nan')):.3f} | "
        f"{m['pca/probe_test_acc']:.3f} | {int(m.get('model/parameters', 0)):,} | {minutes:.1f} | {note} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=["fashion", "sample"], default="fashion")
    parser.add_argument("--only", nargs="*", choices=sorted(VARIANTS), help="run these variants only")
    parser.add_argument("--epochs-scale", type=float, default=1.0, help="multiply every variant's epochs")
    parser.add_argument("--force", action="store_true", help="rerun variants that already have results")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "quality")
    args = parser.parse_args()

    rows = []
    for name in args.only or VARIANTS:
        overrides, epochs, note = VARIANTS[name]
        out_dir = args.out / name
        done = out_dir / "results.json"
        if done.is_file() and not args.force:
            m = json.loads(done.read_text())
            minutes = json.loads((out_dir / "benchmark.json").read_text())["minutes"]
        else:
            epochs = max(1, round(epochs * args.epochs_scale))
            cmd = [
                *overrides,
                *data_overrides(args.data),
                f"trainer.max_epochs={epochs}",
                "logger=csv",
                "callbacks.progress_bar=null",
                "callbacks.model_summary=null",
            ]
            m, seconds = run_train(cmd, out_dir)
            minutes = seconds / 60
            (out_dir / "benchmark.json").write_text(json.dumps({"minutes": minutes, "overrides": cmd}, indent=2))
        rows.append(row(name, m, minutes, note))
        print(rows[-1], flush=True)

    table = [
        f"machine: {machine()}",
        "",
        "| variant | k | AE test MSE | PCA test MSE | AE / PCA | AE probe acc | PCA probe acc | parameters | minutes "
        "| what |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        *(f"| {name} | - | - | - | - | - | - | - | - | not run: {why} |" for name, why in NOT_RUN.items()),
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "table.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))


if __name__ == "__main__":
    main()
