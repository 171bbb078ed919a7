"""Free 2-D maps (GLO-style coordinates, one per training image) decoded by the k=2 preset's conv decoder: the pieces
that benchmarks/k2_free_map.py and benchmarks/k2_tether.py share.

Light on purpose: torch, numpy, scikit-learn and aelab's nets and scores only, so that a GPU machine (which lacks
W&B, umap-learn and openTSNE) can import it with this repository's src/ and root on PYTHONPATH.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors
from torch import nn

from aelab.nets.conv_strided import StridedConvDecoder
from benchmarks.common import machine

DEV = torch.device("cuda" if torch.cuda.is_available() else "cpu")

ExtraLoss = Callable[[torch.Tensor, torch.Tensor, nn.Embedding], torch.Tensor]


def load_split(path: Path) -> tuple[np.lib.npyio.NpzFile, np.ndarray, np.ndarray]:
    """The split of benchmarks.gpu_k2_inputs (``--tsne``): the npz, and its training and test images flattened to
    float32 in [0, 1]."""
    data = np.load(path)
    flat_tr, flat_te = (data[k].reshape(len(data[k]), -1).astype(np.float32) / 255 for k in ("xtr", "xte"))
    return data, flat_tr, flat_te


def jsonl_emitter(path: Path) -> Callable[..., None]:
    """``emit(**record)``: print the record as one JSON line, tagged with the device, and append it to ``path`` at
    once, so that a stopped screen keeps every line it measured."""
    device = torch.cuda.get_device_name() if DEV.type == "cuda" else machine()
    path.parent.mkdir(parents=True, exist_ok=True)

    def emit(**record) -> None:
        line = json.dumps({"device": device, **record})
        print(line, flush=True)
        with path.open("a") as f:
            f.write(line + "\n")

    return emit


def decoder_net(latent_dim: int = 2) -> nn.Module:
    """The k=2 preset's decoder (experiment=conv2_fashion_funnel1024), from a code of ``latent_dim`` features."""
    return StridedConvDecoder(
        output_shape=(1, 28, 28), latent_dim=latent_dim, channels=[64, 32], activation="gelu", dense_dims=[256, 1024]
    ).to(DEV)


@torch.no_grad()
def apply(net: nn.Module, x: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    net.eval()
    out = torch.cat([net(x[i : i + chunk]) for i in range(0, len(x), chunk)])
    net.train()
    return out


def test_mse(decode: Callable[[torch.Tensor], torch.Tensor], codes: torch.Tensor, x: torch.Tensor) -> float:
    with torch.no_grad():
        err = sum(float((decode(codes[i : i + 2000]) - x[i : i + 2000]).pow(2).sum()) for i in range(0, len(x), 2000))
    return err / x.numel()


def loo_knn(codes: np.ndarray, labels: np.ndarray, k: int = 5) -> float:
    """Leave-one-out accuracy of a k-NN vote among the other training codes (the in-sample twin of knn_accuracy)."""
    idx = NearestNeighbors(n_neighbors=k + 1).fit(codes).kneighbors(codes, return_distance=False)[:, 1:]
    votes = np.apply_along_axis(np.bincount, 1, labels[idx], minlength=int(labels.max()) + 1)
    return float((votes.argmax(1) == labels).mean())


def train_map(
    init: torch.Tensor,
    images: torch.Tensor,
    *,
    epochs: int,
    warmup: int,
    batch: int,
    lr: float,
    lr_codes: float,
    tether: float = 0.0,
    extra: ExtraLoss | None = None,
) -> tuple[torch.Tensor, nn.Module, float]:
    """Free coordinates (SparseAdam, ``lr_codes``) and the preset's decoder (Adam, ``lr``), both on a cosine decay to
    zero, on reconstruction MSE + ``tether`` x each coordinate's squared distance from its start (a leash that keeps
    the starting map's layout while the decoder bends) + ``extra(z, rows, codes)``. The coordinates stay fixed for
    the first ``warmup`` epochs, and always when ``lr_codes`` is 0. Returns the coordinates, the decoder and the
    seconds taken."""
    start_map = init.to(DEV)
    codes = nn.Embedding.from_pretrained(start_map.clone(), freeze=False, sparse=True)
    decoder = decoder_net()
    steps_per_epoch = len(images) // batch
    total = epochs * steps_per_epoch
    opt_codes = torch.optim.SparseAdam(codes.parameters(), lr=lr_codes or 1.0)
    opt_net = torch.optim.Adam(decoder.parameters(), lr=lr)
    schedules = [
        torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))
        for opt in (opt_codes, opt_net)
    ]
    start = time.perf_counter()
    for epoch in range(epochs):
        order = torch.randperm(len(images), device=DEV)
        move = lr_codes > 0 and epoch >= warmup
        for i in range(steps_per_epoch):
            rows = order[i * batch : (i + 1) * batch]
            z = codes(rows)
            loss = (decoder(z) - images[rows]).pow(2).mean()
            if tether and move:
                loss = loss + tether * (z - start_map[rows]).pow(2).sum(1).mean()
            if extra is not None:
                loss = loss + extra(z, rows, codes)
            opt_codes.zero_grad()
            opt_net.zero_grad()
            loss.backward()
            opt_net.step()
            if move:
                opt_codes.step()
            for schedule in schedules:
                schedule.step()
    if DEV.type == "cuda":
        torch.cuda.synchronize()
    return codes.weight.detach().clone(), decoder, time.perf_counter() - start


def place(decoder: nn.Module, train_codes: torch.Tensor, x: torch.Tensor, grid: int, refine: int) -> torch.Tensor:
    """Each image's code: the grid point over the map's bounding box whose decoding is nearest the image, then
    ``refine`` Adam steps on reconstruction MSE (no encoder; as openTSNE places new points by optimising)."""
    lo, hi = train_codes.min(0).values, train_codes.max(0).values
    axes = [torch.linspace(float(lo[d]), float(hi[d]), grid, device=DEV) for d in range(2)]
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
