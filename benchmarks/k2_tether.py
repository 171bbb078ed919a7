"""How much of t-SNE's 5-NN can a 2-D map keep while it learns to decode within 0.50x clipped PCA-2?

    python -m benchmarks.gpu_k2_inputs --out .devcarry --tsne                       # tsne_map.npz (t-SNE: 3-4 min)
    python -m benchmarks.k2_tether --data .devcarry/tsne_map.npz --out tether.jsonl   # one JSON line a map

Runs on a GPU when there is one (the inputs travel in the device tool's ``carry``; the GPU machine needs nothing
beyond torch and scikit-learn) and on the CPU otherwise: about 15 minutes a 10-epoch map on 2 CPU cores.

benchmarks/k2_free_map.py found, on the CPU, that free 2-D coordinates started from t-SNE's map and trained with the
k=2 preset's decoder decode new images at 0.46x clipped PCA-2 but keep 5-NN 0.759 of t-SNE's 0.807: the map drifts
away from t-SNE's classes as it learns to decode. This screen leashes each coordinate to its t-SNE start
(``tether`` x squared distance, benchmarks.free_maps.train_map) and walks the leash from none to rigid (the decoder
alone on t-SNE's fixed map), so that the rows trace the frontier between the two figures for this family of maps:
if no row has both 5-NN above 0.807 and MSE within 0.50x, the corner is not reached by a map that starts from t-SNE's.

Each map is scored as in k2_free_map: in sample (leave-one-out 5-NN, reconstruction MSE) and on the 10,000 official
test images placed where the decoder reconstructs them best (grid, then Adam steps), the training coordinates voting;
and, beside it, on t-SNE's own test points (openTSNE's ``transform``, computed on the CPU) decoded as they are.
Maps trained for ``--encode-after`` epochs or more are then given an encoder, the k=2 preset's conv encoder regressed
onto the map (``--encoder-epochs``), and scored as an autoencoder would be: its test codes, decoded by the map's
decoder and voted on by its own training codes.
One seed: a screen, not the comparison. Outside this repository's venv, put src/ and the root on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA

from aelab.analysis.embedding_scores import knn_accuracy
from aelab.nets.conv_strided import StridedConvEncoder
from benchmarks.free_maps import DEV, apply, jsonl_emitter, load_split, loo_knn, place, test_mse, train_map

RUNS = [  # lr_codes:tether:epochs, shortest first so that a stopped screen keeps the most rows
    "0:0:10",
    "0.05:0:10",
    "0.05:30:10",
    "0.05:10:10",
    "0.05:3:10",
    "0.05:1:10",
    "0.05:0.3:10",
    "0.05:0.1:10",
    "0.01:0:10",
    "0:0:30",
    "0.05:3:30",
    "0.05:1:30",
]


def clipped_pca_mse(x_train: np.ndarray, x_test: np.ndarray) -> float:
    """Test MSE of PCA-2 fit on the training images, reconstructions clipped to [0, 1]: the yardstick. The same figure
    as aelab's PCABaseline (0.04565 on this split), without the Lightning imports that a bare GPU box may lack."""
    pca = PCA(2, random_state=0).fit(x_train)
    return float(((np.clip(pca.inverse_transform(pca.transform(x_test)), 0, 1) - x_test) ** 2).mean())


def fit_encoder(x: torch.Tensor, target: torch.Tensor, epochs: int, batch: int = 128) -> tuple[torch.nn.Module, float]:
    """The k=2 preset's encoder (32-64 strided convs, 1024-256 funnel, GELU) regressed onto a fixed 2-D map."""
    encoder = StridedConvEncoder((1, 28, 28), 2, [32, 64], activation="gelu", dense_dims=[1024, 256]).to(DEV)
    steps = epochs * (len(x) // batch)
    opt = torch.optim.Adam(encoder.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, total_steps=steps, pct_start=0.05)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(x), device=DEV)
        for i in range(len(x) // batch):
            rows = order[i * batch : (i + 1) * batch]
            loss = (encoder(x[rows]) - target[rows]).pow(2).sum(1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return encoder, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="tsne_map.npz from benchmarks.gpu_k2_inputs --tsne")
    parser.add_argument("--out", type=Path, required=True, help="JSON lines, one per map")
    parser.add_argument("--runs", nargs="*", default=RUNS, help="lr_codes:tether:epochs")
    parser.add_argument("--warmup", type=int, default=2, help="epochs of the decoder alone on the starting map")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3, help="the decoder's Adam learning rate")
    parser.add_argument("--grid", type=int, default=200)
    parser.add_argument("--refine", type=int, default=10)
    parser.add_argument("--encode-after", type=int, default=30, help="maps of this many epochs get an encoder")
    parser.add_argument("--encoder-epochs", type=int, default=20)
    args = parser.parse_args()
    torch.manual_seed(0)
    data, flat_tr, flat_te = load_split(args.data)
    ytr, yte = data["ytr"], data["yte"]
    xtr, xte = (torch.from_numpy(f).view(-1, 1, 28, 28).to(DEV) for f in (flat_tr, flat_te))
    mu, sd = data["tsne_tr"].mean(0), data["tsne_tr"].std()
    start_map, tsne_test = (torch.from_numpy((data[k] - mu) / sd).float().to(DEV) for k in ("tsne_tr", "tsne_te"))
    pca_mse = clipped_pca_mse(flat_tr, flat_te)
    emit = jsonl_emitter(args.out)

    emit(
        part="reference",
        pca_clipped_test_mse=pca_mse,
        tsne_loo_knn5=loo_knn(data["tsne_tr"], ytr),
        tsne_knn5=knn_accuracy(data["tsne_tr"], ytr, data["tsne_te"], yte),
    )
    for run in args.runs:
        lr_codes, tether, epochs = (float(v) for v in run.split(":"))
        codes, decoder, seconds = train_map(
            start_map,
            xtr,
            epochs=int(epochs),
            warmup=args.warmup,
            batch=args.batch,
            lr=args.lr,
            lr_codes=lr_codes,
            tether=tether,
        )
        decoder.eval()
        drift = float((codes - start_map).norm(dim=1).median())
        train_mse = test_mse(decoder, codes, xtr)
        at_tsne = test_mse(decoder, tsne_test, xte), knn_accuracy(codes, ytr, tsne_test, yte)
        placed = place(decoder, codes, xte, args.grid, args.refine)
        mse = test_mse(decoder, placed, xte)
        emit(
            part="tether",
            lr_codes=lr_codes,
            tether=tether,
            epochs=int(epochs),
            fit_s=round(seconds, 1),
            median_drift=round(drift, 4),
            train_mse=train_mse,
            loo_knn5=loo_knn(codes.cpu().numpy(), ytr),
            test_mse=mse,
            x_pca=round(mse / pca_mse, 4),
            knn5=knn_accuracy(codes, ytr, placed, yte),
            tsne_points_test_mse=at_tsne[0],
            tsne_points_x_pca=round(at_tsne[0] / pca_mse, 4),
            tsne_points_knn5=at_tsne[1],
        )
        if epochs >= args.encode_after:
            encoder, seconds = fit_encoder(xtr, codes, args.encoder_epochs)
            enc_tr, enc_te = apply(encoder, xtr), apply(encoder, xte)
            emit(
                part="encoder",
                lr_codes=lr_codes,
                tether=tether,
                epochs=int(epochs),
                encoder_epochs=args.encoder_epochs,
                fit_s=round(seconds, 1),
                test_mse=test_mse(decoder, enc_te, xte),
                x_pca=round(test_mse(decoder, enc_te, xte) / pca_mse, 4),
                knn5=knn_accuracy(enc_tr, ytr, enc_te, yte),
                knn5_vs_map=knn_accuracy(codes, ytr, enc_te, yte),
            )


if __name__ == "__main__":
    main()
