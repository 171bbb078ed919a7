"""How far a map computed by a network gets on the k=2 5-NN target, against t-SNE placing the same points.

    python -m benchmarks.k2_knn_ceiling                    # alone on the machine, 16-17 minutes on 2 CPU cores

The k=2 preset's codes reach 5-NN accuracy 0.750 on the test images, t-SNE 0.807 (benchmarks/results.md). An
encoder places each new image in one pass of a network; openTSNE places it by optimising its position against its
nearest training points, which is kNN in the input space in all but name. This script measures, on the same split
and with the same scoring (aelab.analysis.embedding_scores.knn_accuracy: train codes vote for test codes), how much
of t-SNE's 5-NN a network keeps when it is trained as well as it can be on t-SNE's own answer, in two spaces:
pixels and the codes of the k=64 preset (a trained checkpoint, ``--ckpt64``):

- ``knn_space``: 5-NN in the space itself;
- ``tsne``: openTSNE fit on the training points of that space, test points by its ``transform``;
- ``regress``: a network trained (MSE) to output each training point's place on that t-SNE map: the k=2 preset's
  conv encoder (3136-1024-256-2 funnel) on pixels, ``--conv-epochs`` epochs; a 64-512-512-2 MLP on the AE-64 codes;
- ``neighbour_embedding_dof*``: the MLP on the AE-64 codes trained with penalty=neighbour_embedding's contrastive loss
  (aelab.models.penalties.neighbours) over the 15-NN graph of the training codes, at two Student-t tails.

No reconstruction term anywhere: each is a ceiling for an autoencoder's 2-D codes, which must also be decodable.
Writes benchmarks/results/k2_knn_ceiling/ceiling.json.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from hydra import compose, initialize_config_dir
from sklearn.neighbors import NearestNeighbors
from torch import nn

from aelab.analysis.embedding_scores import knn_accuracy
from aelab.baselines.compare import timed
from aelab.baselines.reducers import TSNEBaseline
from aelab.checkpoints import load_model
from aelab.data.tensor_data import to_unit_float
from aelab.instantiate import build
from aelab.models.penalties.neighbours import pair_contrastive_loss
from benchmarks.common import DEBIAN_FASHION, ROOT, machine
from benchmarks.dr_compare import fashion_data

CKPT64 = ROOT / "benchmarks" / "out" / "quality" / "conv64_fashion_gelu_b64" / "seed0" / "checkpoints" / "last.ckpt"


def preset_model(fashion_dir: Path) -> nn.Module:
    """A fresh model of the k=2 preset (experiment=conv2_fashion_funnel1024), for its conv encoder."""
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=["experiment=conv2_fashion_funnel1024", f"data.data_dir={fashion_dir}"])
    return build(cfg.model)


def standardised(t: np.ndarray) -> torch.Tensor:
    t = torch.from_numpy(np.asarray(t, dtype=np.float32))
    return (t - t.mean(0)) / t.std()


def tsne_map(train: np.ndarray, test: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """The t-SNE baseline of the comparison (openTSNE, perplexity 30): the training map, the test points placed on
    it, and the seconds the fit took."""
    tsne, seconds = timed(lambda: TSNEBaseline(2, seed).fit(train))
    return np.asarray(tsne.embedding), tsne.transform(test), seconds


def fit(
    net: nn.Module,
    inputs: torch.Tensor,
    loss_of: Callable[[torch.Tensor], torch.Tensor],
    epochs: int,
    batch: int,
    lr: float,
) -> float:
    """Adam with a cosine decay to zero over ``epochs`` passes; ``loss_of(rows)`` is the loss of a batch of rows."""
    steps = epochs * (len(inputs) // batch)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(inputs))
        for i in range(len(inputs) // batch):
            loss = loss_of(order[i * batch : (i + 1) * batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    return time.perf_counter() - start


@torch.no_grad()
def apply(
    net: nn.Module, inputs: torch.Tensor, as_input: Callable[[torch.Tensor], torch.Tensor] = lambda x: x
) -> torch.Tensor:
    """The net's outputs for ``inputs`` in eval mode, 2,000 rows at a time."""
    net.eval()
    out = torch.cat([net(as_input(inputs[i : i + 2000])) for i in range(0, len(inputs), 2000)])
    net.train()
    return out


def mlp(width: int = 512) -> nn.Module:
    return nn.Sequential(nn.Linear(64, width), nn.GELU(), nn.Linear(width, width), nn.GELU(), nn.Linear(width, 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt64", type=Path, default=CKPT64, help="a k=64 checkpoint (experiment=conv64_fashion_*)")
    parser.add_argument("--fashion-dir", type=Path, default=DEBIAN_FASHION)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--conv-epochs", type=int, default=4)
    parser.add_argument("--mlp-epochs", type=int, default=16)
    parser.add_argument("--ne-epochs", type=int, default=40)
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "k2_knn_ceiling")
    args = parser.parse_args()
    torch.manual_seed(args.seed)

    data, datamodule = fashion_data(args.fashion_dir, trust_samples=0)
    (x_train, y_train), (x_test, y_test) = datamodule.splits["train"].take(), datamodule.splits["test"].take()
    record: dict = {
        "machine": machine(),
        "ckpt64": str(args.ckpt64),
        "args": {k: str(v) for k, v in vars(args).items()},
    }

    def score(name: str, space: str, train_codes, test_codes, **extra) -> None:
        acc = knn_accuracy(train_codes, y_train, test_codes, y_test)
        record.setdefault(space, {})[name] = {"knn5": acc, **extra}
        print(f"{space:>10} {name:<28} 5-NN {acc:.4f} {extra}", flush=True)

    # pixels: t-SNE, and the k=2 preset's conv encoder regressing onto t-SNE's map
    score("knn_space", "pixels", data.train_x, data.test_x)
    map_train, map_test, seconds = tsne_map(data.train_x, data.test_x, args.seed)
    score("tsne", "pixels", map_train, map_test, fit_seconds=round(seconds, 1))
    target = standardised(map_train)
    encoder = preset_model(args.fashion_dir).encoder
    seconds = fit(
        encoder,
        x_train,
        lambda rows: (encoder(to_unit_float(x_train[rows])) - target[rows]).pow(2).sum(1).mean(),
        args.conv_epochs,
        64,
        2e-3,
    )
    codes = [apply(encoder, x, to_unit_float) for x in (x_train, x_test)]
    score("regress", "pixels", *codes, epochs=args.conv_epochs, fit_seconds=round(seconds, 1))

    # the k=64 preset's codes: t-SNE, an MLP regressing onto its map, the MLP with the neighbour-embedding loss
    model, _ = load_model(args.ckpt64)
    z_train, z_test = (apply(model.encoder, x, to_unit_float) for x in (x_train, x_test))
    score("knn_space", "ae64", z_train, z_test)
    map_train, map_test, seconds = tsne_map(z_train.numpy(), z_test.numpy(), args.seed)
    score("tsne", "ae64", map_train, map_test, fit_seconds=round(seconds, 1))
    mean, std = z_train.mean(0), z_train.std(0)
    z_train, z_test = (z_train - mean) / std, (z_test - mean) / std
    target = standardised(map_train)
    head = mlp()
    seconds = fit(
        head,
        z_train,
        lambda rows: (head(z_train[rows]) - target[rows]).pow(2).sum(1).mean(),
        args.mlp_epochs,
        256,
        2e-3,
    )
    score("regress", "ae64", apply(head, z_train), apply(head, z_test), epochs=args.mlp_epochs)
    graph = NearestNeighbors(n_neighbors=16).fit(z_train).kneighbors(z_train, return_distance=False)[:, 1:]
    graph = torch.from_numpy(graph)
    for dof in (1.0, 0.5):
        head = mlp()

        def pairs_loss(rows: torch.Tensor, head: nn.Module = head, dof: float = dof) -> torch.Tensor:
            partners = graph[rows, torch.randint(graph.shape[1], (len(rows),))]
            return pair_contrastive_loss(head(torch.cat([z_train[rows], z_train[partners]])), dof)

        seconds = fit(head, z_train, pairs_loss, args.ne_epochs, 1024, 1e-3)
        codes = [apply(head, z) for z in (z_train, z_test)]
        score(f"neighbour_embedding_dof{dof:g}", "ae64", *codes, epochs=args.ne_epochs, fit_seconds=round(seconds, 1))

    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "ceiling.json").write_text(json.dumps(record, indent=1))
    print(f"wrote {args.results / 'ceiling.json'}")


if __name__ == "__main__":
    main()
