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
from pathlib import Path

import numpy as np
import torch
from torch import nn

from aelab.analysis.embedding_scores import knn_accuracy
from aelab.baselines.reducers import PCABaseline
from aelab.data.neighbours import nearest_neighbours
from aelab.models.penalties.neighbours import pair_contrastive_loss
from benchmarks.common import DEBIAN_FASHION, ROOT, machine
from benchmarks.dr_compare import fashion_data
from benchmarks.free_maps import ExtraLoss, loo_knn, place, test_mse, train_map
from benchmarks.k2_knn_ceiling import standardised, tsne_map


def neighbour_term(graph: torch.Tensor, weight: float, ne_scale: float) -> ExtraLoss:
    """weight x the contrastive neighbour loss on the map times ``ne_scale`` (t-SNE's own spread), since its Student-t
    kernel is not scale-free: on a unit-variance map every pair sits in the kernel's flat core and the loss mostly
    pushes the map apart. Partners are detached: under Adam a row whose only gradient is the neighbour term steps a
    whole learning rate whatever its weight, so the weight would be a switch; detached, each coordinate moves as an
    anchor only, on reconstruction + weight x neighbours. Partners need no decoder pass."""

    def term(z: torch.Tensor, rows: torch.Tensor, codes: nn.Embedding) -> torch.Tensor:
        partners = graph[rows, torch.randint(graph.shape[1], (len(rows),))]
        return weight * pair_contrastive_loss(ne_scale * torch.cat([z, codes(partners).detach()]))

    return term


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
        codes, decoder, seconds = train_map(
            starts[start],
            x_train,
            epochs=args.epochs,
            warmup=args.warmup,
            batch=args.batch,
            lr=args.lr,
            lr_codes=args.lr_codes,
            extra=neighbour_term(graph, weight, ne_scale) if weight else None,
        )
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
