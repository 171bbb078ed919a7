"""Is there a 2-D map of the training images that keeps neighbours like t-SNE and decodes like the k=2 preset?

    python -m benchmarks.k2_free_map                      # alone on the machine, about 55 minutes on 2 CPU cores (16 per map)

The k=2 target of issue 15 asks one 2-D code for 5-NN accuracy above t-SNE's (0.807) and test MSE within 0.50x
clipped PCA-2. Every network tried lands on one side (benchmarks/results.md): the preset's map decodes (0.48x) but
votes 0.750; neighbour-embedding maps vote 0.80-0.81 but decode at 0.64x at best. Is that the encoder, which must
place each image in one pass of a smooth function, or the map itself? This script drops the encoder: each training
image gets a free 2-D coordinate (an embedding table, as in GLO, Bojanowski et al. 2018), trained with the preset's
conv decoder on

    reconstruction MSE + weight x the contrastive neighbour loss (penalty=neighbour_embedding) over the 15-NN pixel graph,

starting from PCA-2 or from openTSNE's map of the same images (perplexity 30, the comparison's t-SNE). The decoder
alone is trained for the first ``--warmup`` epochs, on the fixed starting map. Each map is scored in sample (the
training images: leave-one-out 5-NN of the coordinates, reconstruction MSE) and on the 10,000 official test images,
each placed where the decoder reconstructs it best (a search over a grid spanning the map, then ``--refine`` Adam
steps on its code): the test 5-NN votes the training coordinates, as in the comparison. MSE is reported beside
clipped PCA-2's on the same images. Writes benchmarks/results/k2_free_map/free_map.json.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors
from torch import nn

from aelab.analysis.embedding_scores import knn_accuracy
from aelab.baselines.reducers import PCABaseline
from aelab.data.neighbours import nearest_neighbours
from aelab.models.penalties.neighbours import pair_contrastive_loss
from benchmarks.common import DEBIAN_FASHION, ROOT, machine
from benchmarks.dr_compare import fashion_data
from benchmarks.gpu_k2_staged import decoder_net, test_mse
from benchmarks.k2_knn_ceiling import apply, standardised, tsne_map


def loo_knn(codes: np.ndarray, labels: np.ndarray, k: int = 5) -> float:
    """Leave-one-out accuracy of a k-NN vote among the other training codes (the in-sample twin of knn_accuracy)."""
    idx = NearestNeighbors(n_neighbors=k + 1).fit(codes).kneighbors(codes, return_distance=False)[:, 1:]
    votes = np.apply_along_axis(np.bincount, 1, labels[idx], minlength=int(labels.max()) + 1)
    return float((votes.argmax(1) == labels).mean())


def train_map(
    init: torch.Tensor,
    images: torch.Tensor,
    graph: torch.Tensor,
    weight: float,
    ne_scale: float,
    args: argparse.Namespace,
) -> tuple[torch.Tensor, nn.Module, float]:
    """Free coordinates (SparseAdam) and the preset's decoder (Adam), both on a cosine decay to zero; the coordinates
    stay fixed for the first ``args.warmup`` epochs. The decoder reads the unit-variance map; the neighbour loss sees
    it times ``ne_scale`` (t-SNE's own spread), since its Student-t kernel is not scale-free: on a unit-variance map
    every pair sits in the kernel's flat core and the loss mostly pushes the map apart. Partners are detached: under
    Adam a row whose only gradient is the neighbour term steps a whole learning rate whatever its weight, so the weight
    would be a switch; detached, each coordinate moves as an anchor only, on reconstruction + weight x neighbours.
    Returns the coordinates, the decoder and the seconds taken."""
    codes = nn.Embedding.from_pretrained(init.clone(), freeze=False, sparse=True)
    decoder = decoder_net()
    steps_per_epoch = len(images) // args.batch
    total = args.epochs * steps_per_epoch
    opt_codes = torch.optim.SparseAdam(codes.parameters(), lr=args.lr_codes)
    opt_net = torch.optim.Adam(decoder.parameters(), lr=args.lr)
    schedules = [
        torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))
        for opt in (opt_codes, opt_net)
    ]
    start = time.perf_counter()
    for epoch in range(args.epochs):
        order = torch.randperm(len(images))
        for i in range(steps_per_epoch):
            rows = order[i * args.batch : (i + 1) * args.batch]
            z = codes(rows)
            loss = (decoder(z) - images[rows]).pow(2).mean()
            if weight:  # partners enter the neighbour loss only: no decoder pass for them
                partners = graph[rows, torch.randint(graph.shape[1], (len(rows),))]
                loss = loss + weight * pair_contrastive_loss(ne_scale * torch.cat([z, codes(partners).detach()]))
            opt_codes.zero_grad()
            opt_net.zero_grad()
            loss.backward()
            opt_net.step()
            if epoch >= args.warmup:
                opt_codes.step()
            for schedule in schedules:
                schedule.step()
    return codes.weight.detach().clone(), decoder, time.perf_counter() - start


def place(decoder: nn.Module, train_codes: torch.Tensor, x: torch.Tensor, grid: int, refine: int) -> torch.Tensor:
    """Each image's code: the grid point over the map's bounding box whose decoding is nearest the image, then
    ``refine`` Adam steps on reconstruction MSE (no encoder; as openTSNE places new points by optimising)."""
    lo, hi = train_codes.min(0).values, train_codes.max(0).values
    axes = [torch.linspace(float(lo[d]), float(hi[d]), grid) for d in range(2)]
    points = torch.cartesian_prod(*axes)
    decoded = apply(decoder, points).flatten(1)
    flat = x.flatten(1)
    sq = (decoded * decoded).sum(1)
    best = torch.cat([(sq[None] - 2 * flat[i : i + 1000] @ decoded.T).argmin(1) for i in range(0, len(x), 1000)])
    z = nn.Parameter(points[best].clone())
    optimizer = torch.optim.Adam([z], lr=0.1 * float((hi - lo).max()) / grid)
    decoder.eval()
    for p in decoder.parameters():
        p.requires_grad_(False)
    for _ in range(refine):
        for i in range(0, len(x), 2000):
            loss = (decoder(z[i : i + 2000]) - x[i : i + 2000]).pow(2).sum()
            loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return z.detach()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fashion-dir", type=Path, default=DEBIAN_FASHION)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2, help="epochs of the decoder alone on the starting map")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3, help="the decoder's Adam learning rate")
    parser.add_argument("--lr-codes", type=float, default=0.05, help="the coordinates' (unit-variance map) rate")
    parser.add_argument(
        "--runs", nargs="*", default=["pca:0", "tsne:0", "tsne:0.01"], help="start:neighbour-loss weight"
    )
    parser.add_argument("--grid", type=int, default=200, help="grid points per axis to place the test images")
    parser.add_argument("--refine", type=int, default=10)
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "k2_free_map")
    parser.add_argument("--name", default="free_map", help="the JSON file's name in --results")
    args = parser.parse_args()
    torch.manual_seed(0)
    data, datamodule = fashion_data(args.fashion_dir, trust_samples=0)
    x_train = torch.from_numpy(data.train_x).view(-1, 1, 28, 28)
    x_test = torch.from_numpy(data.test_x).view(-1, 1, 28, 28)
    record: dict = {"machine": machine(), "args": {k: str(v) for k, v in vars(args).items()}}
    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / f"{args.name}.json"

    def emit(name: str, **scores) -> None:
        record[name] = scores
        print(json.dumps({name: scores}), flush=True)
        path.with_suffix(".part").write_text(json.dumps(record, indent=1))
        path.with_suffix(".part").replace(path)  # whole after each step: a stopped run keeps what it measured

    pca = PCABaseline(2).fit(data.train_x)
    pca_train, pca_test = pca.transform(data.train_x), pca.transform(data.test_x)
    emit(
        "pca_clipped",
        train_mse=float(((pca.inverse_transform(pca_train) - data.train_x) ** 2).mean()),
        test_mse=float(((pca.inverse_transform(pca_test) - data.test_x) ** 2).mean()),
        loo_knn5=loo_knn(pca_train, data.train_y),
        knn5=knn_accuracy(pca_train, data.train_y, pca_test, data.test_y),
    )
    tsne_train, tsne_test, seconds = tsne_map(data.train_x, data.test_x, seed=0)
    emit(
        "tsne",
        fit_seconds=round(seconds, 1),
        loo_knn5=loo_knn(tsne_train, data.train_y),
        knn5=knn_accuracy(tsne_train, data.train_y, tsne_test, data.test_y),
    )
    graph = nearest_neighbours(datamodule.splits["train"].take()[0], 15)
    starts = {"pca": standardised(pca_train), "tsne": standardised(tsne_train)}
    ne_scale = float(np.std(tsne_train))
    for start, weight in (run.split(":") for run in args.runs):
        weight = float(weight)
        codes, decoder, seconds = train_map(starts[start], x_train, graph, weight, ne_scale, args)
        test_codes = place(decoder, codes, x_test, args.grid, args.refine)
        emit(
            f"free_{start}_w{weight:g}",
            fit_seconds=round(seconds, 1),
            train_mse=test_mse(decoder, codes, x_train),
            loo_knn5=loo_knn(codes.numpy(), data.train_y),
            test_mse=test_mse(decoder, test_codes, x_test),
            knn5=knn_accuracy(codes, data.train_y, test_codes, data.test_y),
        )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
