"""Can a neighbour-embedding 2-D map be decoded as well as the k=2 preset's own codes? Decoders on a fixed map.

    python -m benchmarks.k2_map_decoders                 # alone on the machine, about 25 minutes on 2 CPU cores

The GPU screen (benchmarks/gpu_k2_staged.py) found that a head trained with the neighbour-embedding loss on the k=64
preset's codes gives a 2-D map with test 5-NN 0.80 (t-SNE: 0.807), but that the k=2 preset's decoder trained on that
map reaches test MSE 0.031, against 0.022 for the preset end to end. This script asks whether the map or the decoder
is at fault: on one such map (the head trained here, ``--head-epochs``), it fits

- ``knn_mean``: the mean of the training images whose codes are a test code's k nearest (no network: how much of the
  image the map's neighbourhoods hold), on this map and, for scale, on the k=2 preset's own codes (``--ckpt2``);
- ``conv``: the preset's decoder (2 -> 256 -> 1024 -> 64x7x7 -> 32 -> 1, GELU);
- ``fourier<s>``: the same decoder behind fixed random Fourier features of the code (Tancik et al., NeurIPS 2020:
  256 sines and cosines of the code at Gaussian frequencies of scale ``s``), which lets a dense layer bend sharply
  within a small region of the map.

Scores are test MSE on the 10,000 official test images and the map's 5-NN accuracy. Writes
benchmarks/results/k2_map_decoders/decoders.json. Inputs: the seed-0 checkpoints of the k=64 and k=2 presets.
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
from aelab.checkpoints import load_model
from aelab.data.tensor_data import to_unit_float
from aelab.models.penalties.neighbours import pair_contrastive_loss
from benchmarks.common import DEBIAN_FASHION, ROOT, machine
from benchmarks.dr_compare import fashion_data
from benchmarks.free_maps import decoder_net
from benchmarks.k2_knn_ceiling import CKPT64, apply, fit

CKPT2 = ROOT / "benchmarks" / "out" / "quality" / "conv2_fashion_funnel1024" / "seed0" / "checkpoints" / "last.ckpt"


class FourierFeatures(nn.Module):
    """[sin(2 pi z B), cos(2 pi z B)] with a fixed Gaussian B of ``n`` frequencies (a buffer, saved with the net)."""

    def __init__(self, latent_dim: int, n: int, scale: float, seed: int = 0) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.register_buffer("freq", torch.randn(latent_dim, n, generator=gen) * scale)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        angle = 2 * math.pi * z @ self.freq
        return torch.cat([angle.sin(), angle.cos()], dim=1)


def decoder(fourier_scale: float | None) -> nn.Module:
    if fourier_scale is None:
        return decoder_net()
    return nn.Sequential(FourierFeatures(2, 128, fourier_scale), decoder_net(256))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt64", type=Path, default=CKPT64)
    parser.add_argument("--ckpt2", type=Path, default=CKPT2, help="a k=2 checkpoint (experiment=conv2_fashion_*)")
    parser.add_argument("--fashion-dir", type=Path, default=DEBIAN_FASHION)
    parser.add_argument("--head-epochs", type=int, default=100)
    parser.add_argument("--decoder-epochs", type=int, default=15)
    parser.add_argument("--scales", type=float, nargs="*", default=[4.0])
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "k2_map_decoders")
    args = parser.parse_args()
    torch.manual_seed(0)
    _, datamodule = fashion_data(args.fashion_dir, trust_samples=0)
    (x_train, y_train), (x_test, y_test) = datamodule.splits["train"].take(), datamodule.splits["test"].take()
    record: dict = {"machine": machine(), "args": {k: str(v) for k, v in vars(args).items()}}

    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / "decoders.json"

    def emit(name: str, **scores) -> None:
        record[name] = scores
        print(json.dumps({name: scores}), flush=True)
        path.with_suffix(".part").write_text(json.dumps(record, indent=1))
        path.with_suffix(".part").replace(path)  # whole after each step: a stopped run keeps what it measured

    model, _ = load_model(args.ckpt64)
    z_train, z_test = (apply(model.encoder, x, to_unit_float) for x in (x_train, x_test))
    mean, std = z_train.mean(0), z_train.std(0)
    z_train, z_test = (z_train - mean) / std, (z_test - mean) / std
    graph = NearestNeighbors(n_neighbors=16).fit(z_train).kneighbors(z_train, return_distance=False)[:, 1:]
    graph = torch.from_numpy(graph)
    head = nn.Sequential(nn.Linear(64, 256), nn.GELU(), nn.Linear(256, 256), nn.GELU(), nn.Linear(256, 2))

    def pairs_loss(rows: torch.Tensor) -> torch.Tensor:
        partners = graph[rows, torch.randint(graph.shape[1], (len(rows),))]
        return pair_contrastive_loss(head(torch.cat([z_train[rows], z_train[partners]])))

    seconds = fit(head, z_train, pairs_loss, args.head_epochs, 1024, 1e-3)
    m_train, m_test = apply(head, z_train), apply(head, z_test)
    scale = m_train.std()
    m_train, m_test = m_train / scale, m_test / scale
    emit(
        "head",
        epochs=args.head_epochs,
        fit_seconds=round(seconds, 1),
        knn5=knn_accuracy(m_train, y_train, m_test, y_test),
    )

    flat_train = to_unit_float(x_train).flatten(1).numpy()
    flat_test = to_unit_float(x_test).flatten(1).numpy()
    preset, _ = load_model(args.ckpt2)
    preset.eval()
    preset_codes = [apply(preset.encoder, x, to_unit_float) for x in (x_train, x_test)]
    recon = apply(preset.decoder, preset_codes[1]).flatten(1).numpy()
    emit(
        "k2_preset",
        knn5=knn_accuracy(preset_codes[0], y_train, preset_codes[1], y_test),
        test_mse=float(((recon - flat_test) ** 2).mean()),
    )
    for name, (c_train, c_test) in (("head", (m_train, m_test)), ("k2_preset", preset_codes)):
        for k in (5, 10, 20):
            idx = NearestNeighbors(n_neighbors=k).fit(c_train).kneighbors(c_test, return_distance=False)
            mse = np.mean(
                [
                    ((flat_train[idx[i : i + 2000]].mean(1) - flat_test[i : i + 2000]) ** 2).mean()
                    for i in range(0, len(idx), 2000)
                ]
            )
            emit(f"knn_mean{k}_{name}", test_mse=float(mse))

    target = to_unit_float(x_train)
    for scale_f in [None, *args.scales]:
        net = decoder(scale_f)
        start = time.perf_counter()
        fit(
            net,
            m_train,
            lambda rows, net=net: (net(m_train[rows]) - target[rows]).pow(2).mean(),
            args.decoder_epochs,
            128,
            2e-3,
        )
        seconds = time.perf_counter() - start
        recon = apply(net, m_test).flatten(1).numpy()
        name = "conv" if scale_f is None else f"fourier{scale_f:g}"
        emit(
            name,
            epochs=args.decoder_epochs,
            fit_seconds=round(seconds, 1),
            test_mse=float(((recon - flat_test) ** 2).mean()),
        )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
