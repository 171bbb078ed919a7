"""Parametric t-SNE on 2 CPU cores: can a one-pass network learn t-SNE's 2-D map, neighbours and decodability both?

    python -m benchmarks.gpu_k2_inputs --out .devcarry --tsne          # the split and openTSNE's map (3-4 min)
    python -m benchmarks.k2_param_tsne --data .devcarry/tsne_map.npz --out benchmarks/results/k2_param_tsne/screen.jsonl

benchmarks/k2_tether.py found that t-SNE's own map of the training images decodes (the k=2 preset's decoder on it:
0.484x clipped PCA-2 on t-SNE's test points, 5-NN 0.809), and that what is missing is an encoder that places new
images as t-SNE does. The neighbour-embedding heads tried so far used a contrastive loss over uniform 15-NN pairs
(InfoNCE), and their maps decoded badly. This screen trains a 50-256-256-2 MLP on the PCA-50 projection of the
images with t-SNE's own loss instead (van der Maaten, AISTATS 2009): partners drawn from perplexity-30 affinities
over each image's 90 nearest neighbours, attraction -log w(z_i, z_j) with t-SNE's Cauchy kernel, repulsion the log
of the batch's mean kernel (t-SNE's normaliser Z, estimated on the batch), early exaggeration 4 over the first
quarter of the steps; beside it, the same MLP regressed onto openTSNE's map (``reg``) and the two together
(``mix``: regression + 0.1 x the t-SNE loss).

Scores, at a few epochs of each run's cosine schedule: 5-NN of the test codes (training codes vote, as in the
comparison) and, in place of training a decoder (32 minutes), how much of the image the map's neighbourhoods hold:
the test MSE of the mean of the 20 training images whose codes are nearest each test code (``knn20_mse``), which
ranked decoders correctly in benchmarks/k2_map_decoders.py. Reference lines: the same two figures for openTSNE's
map (its test points by ``transform``). One seed; a screen, not the comparison.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors
from torch import nn

from aelab.analysis.embedding_scores import knn_accuracy
from benchmarks.free_maps import jsonl_emitter, load_split
from benchmarks.k2_tether import clipped_pca_mse

RUNS = ["tsne:100", "reg:20", "mix:20"]  # loss:epochs
SCORE_AT = (10, 20, 40, 60, 100, 200)


def perplexity_affinities(sq_dist: np.ndarray, perplexity: float, iters: int = 64) -> np.ndarray:
    """Row-normalised Gaussian affinities over each row's neighbours, with the bandwidth set by bisection so that
    every row has the given perplexity (t-SNE's P_{j|i})."""
    d = sq_dist - sq_dist[:, :1]
    lo, hi, beta = np.zeros(len(d)), np.full(len(d), np.inf), np.ones(len(d))
    for _ in range(iters):
        p = np.exp(-d * beta[:, None])
        total = p.sum(1)
        entropy = np.log(total) + beta * (d * p).sum(1) / total
        too_flat = entropy > math.log(perplexity)
        lo, hi = np.where(too_flat, beta, lo), np.where(too_flat, hi, beta)
        beta = np.where(np.isinf(hi), beta * 2, (lo + hi) / 2)
    p = np.exp(-d * beta[:, None])
    return p / p.sum(1, keepdims=True)


def cauchy(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return 1 / (1 + (a - b).pow(2).sum(-1))


def tsne_loss(z: torch.Tensor, half: int, exaggeration: float) -> torch.Tensor:
    """KL(P || Q) up to a constant, for a batch of ``half`` anchors followed by their P-sampled partners."""
    attraction = -torch.log(cauchy(z[:half], z[half:])).mean()
    n = len(z)
    kernel = 1 / (1 + torch.cdist(z, z).pow(2))
    return exaggeration * attraction + torch.log((kernel.sum() - n) / (n * (n - 1)))


def head(d_in: int, width: int) -> nn.Module:
    return nn.Sequential(nn.Linear(d_in, width), nn.GELU(), nn.Linear(width, width), nn.GELU(), nn.Linear(width, 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="tsne_map.npz from benchmarks.gpu_k2_inputs --tsne")
    parser.add_argument("--out", type=Path, required=True, help="JSON lines: references, then one per score")
    parser.add_argument("--runs", nargs="*", default=RUNS, help="loss:epochs, loss one of tsne, reg, mix")
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--batch", type=int, default=1024, help="anchors per step (each brings a partner)")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--neighbours", type=int, default=90)
    parser.add_argument("--perplexity", type=float, default=30.0)
    parser.add_argument("--exaggeration", type=float, default=4.0)
    args = parser.parse_args()
    torch.manual_seed(0)
    data, flat_tr, flat_te = load_split(args.data)
    ytr, yte = data["ytr"], data["yte"]
    pca = PCA(50, random_state=0).fit(flat_tr)
    ftr, fte = (torch.from_numpy(pca.transform(f).astype(np.float32)) for f in (flat_tr, flat_te))
    ftr, fte = ftr / ftr.std(), fte / ftr.std()
    start = time.perf_counter()
    dist, idx = NearestNeighbors(n_neighbors=args.neighbours + 1).fit(ftr).kneighbors(ftr)
    cum = torch.from_numpy(np.cumsum(perplexity_affinities(dist[:, 1:] ** 2, args.perplexity), 1).astype(np.float32))
    graph = torch.from_numpy(idx[:, 1:])
    graph_s = time.perf_counter() - start
    target = torch.from_numpy((data["tsne_tr"] - data["tsne_tr"].mean(0)) / data["tsne_tr"].std()).float()
    pca_mse = clipped_pca_mse(flat_tr, flat_te)
    emit = jsonl_emitter(args.out)

    def knn20_mse(train_codes: np.ndarray, test_codes: np.ndarray) -> float:
        nearest = NearestNeighbors(n_neighbors=20).fit(train_codes).kneighbors(test_codes, return_distance=False)
        return float(((flat_tr[nearest].mean(1) - flat_te) ** 2).mean())

    ref = knn20_mse(data["tsne_tr"], data["tsne_te"])
    emit(
        part="reference",
        pca_clipped_test_mse=pca_mse,
        graph_s=round(graph_s, 1),
        tsne_knn5=knn_accuracy(data["tsne_tr"], ytr, data["tsne_te"], yte),
        tsne_knn20_mse=ref,
        tsne_knn20_x_pca=round(ref / pca_mse, 4),
    )
    for run in args.runs:
        loss_name, epochs = run.split(":")[0], int(run.split(":")[1])
        torch.manual_seed(0)
        net = head(ftr.shape[1], args.width)
        steps_per_epoch = len(ftr) // args.batch
        steps = epochs * steps_per_epoch
        opt = torch.optim.Adam(net.parameters(), lr=args.lr)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s, n=steps: 0.5 * (1 + math.cos(math.pi * s / n)))
        seconds = 0.0
        for epoch in range(1, epochs + 1):
            tick = time.perf_counter()
            order = torch.randperm(len(ftr))
            for i in range(steps_per_epoch):
                rows = order[i * args.batch : (i + 1) * args.batch]
                drawn = (cum[rows] < torch.rand(len(rows), 1)).sum(1).clamp_max(graph.shape[1] - 1)
                z = net(torch.cat([ftr[rows], ftr[graph[rows, drawn]]]))
                exaggeration = args.exaggeration if sched.last_epoch < steps // 4 else 1.0
                regression = (z[: len(rows)] - target[rows]).pow(2).sum(1).mean()
                if loss_name == "tsne":
                    loss = tsne_loss(z, len(rows), exaggeration)
                elif loss_name == "reg":
                    loss = regression
                else:
                    loss = regression + 0.1 * tsne_loss(z, len(rows), 1.0)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
            seconds += time.perf_counter() - tick
            if epoch in SCORE_AT or epoch == epochs:
                with torch.no_grad():
                    ztr, zte = net(ftr).numpy(), net(fte).numpy()
                mse = knn20_mse(ztr, zte)
                emit(
                    part="head",
                    loss=loss_name,
                    epoch=epoch,
                    of_epochs=epochs,
                    fit_s=round(seconds, 1),
                    knn5=knn_accuracy(ztr, ytr, zte, yte),
                    knn20_mse=mse,
                    knn20_x_pca=round(mse / pca_mse, 4),
                )


if __name__ == "__main__":
    main()
