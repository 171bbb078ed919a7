"""GPU screen of a staged k=2 autoencoder: a k=64 conv AE's codes -> a neighbour-embedding head -> a 2-D code that a
conv decoder maps back to the image.

The k=2 preset trained end to end reaches test 5-NN 0.750 on its 2-D codes; t-SNE reaches 0.807 and a 64-512-512-2
head trained with the neighbour-embedding loss on the k=64 preset's codes 0.78-0.80 (benchmarks/k2_knn_ceiling.py).
This screen asks, on a GPU and with a plain loop, what a longer head schedule reaches and whether a decoder from
such a map keeps the test MSE within 0.50x clipped PCA-2 (0.0228), in four parts, each a JSON line:

- ``head``: the head on fixed AE-64 codes (the k=64 preset's seed 0, computed on the CPU), several schedules;
- ``decoder``: the k=2 preset's decoder (2 -> 256 -> 1024 -> 64x7x7 -> 32 -> 1, GELU) trained on the frozen map;
- ``joint``: head and decoder fine-tuned together, reconstruction + weight x the neighbour loss;
- ``frontier`` (``--finetune``): the k=2 preset itself, fine-tuned end to end with reconstruction + weight x the
  neighbour loss.

    python -m benchmarks.gpu_k2_staged --data k2data.npz --out scores.jsonl                     # head, decoder, joint
    python -m benchmarks.gpu_k2_staged --data k2data.npz --out f.jsonl --finetune k2_state.pt   # frontier only

Its inputs (the comparison's split of Fashion-MNIST, the k=64 preset's codes, the k=2 preset's weights) come from
benchmarks/gpu_k2_inputs.py on the CPU machine. A screen, not the comparison: one seed, float MSE, 5-NN as in
aelab.analysis.embedding_scores. Needs torch, scikit-learn, and src/ and the repository root on PYTHONPATH (hydra-core too,
which aelab.models imports).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors
from torch import nn

from aelab.analysis.embedding_scores import knn_accuracy
from aelab.models.penalties.neighbours import pair_contrastive_loss
from aelab.nets.conv_strided import StridedConvEncoder
from benchmarks.free_maps import DEV, apply, decoder_net, test_mse


def cosine_adam(params, lr: float, steps: int) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    opt = torch.optim.Adam(params, lr=lr)
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))


def loop(params, loss_of: Callable[[torch.Tensor], torch.Tensor], n: int, epochs: int, batch: int, lr: float) -> float:
    """Adam with a cosine decay over ``epochs`` shuffled passes of ``n`` rows; returns the seconds it took."""
    steps = epochs * (n // batch)
    opt, sched = cosine_adam(list(params), lr, steps)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(n, device=DEV)
        for i in range(n // batch):
            loss = loss_of(order[i * batch : (i + 1) * batch])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    if DEV.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def head_net(width: int, depth: int = 2, d_in: int = 64) -> nn.Module:
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Linear(d_in, width), nn.GELU()]
        d_in = width
    return nn.Sequential(*layers, nn.Linear(d_in, 2)).to(DEV)


def neighbour_graph(z: torch.Tensor, k: int) -> torch.Tensor:
    nn_ = NearestNeighbors(n_neighbors=k + 1, n_jobs=-1).fit(z.cpu().numpy())
    return torch.from_numpy(nn_.kneighbors(z.cpu().numpy(), return_distance=False)[:, 1:]).to(DEV)


def ne_loss(head: nn.Module, z: torch.Tensor, graph: torch.Tensor, rows: torch.Tensor, dof: float) -> torch.Tensor:
    partners = graph[rows, torch.randint(graph.shape[1], (len(rows),), device=DEV)]
    return pair_contrastive_loss(head(torch.cat([z[rows], z[partners]])), dof)


def frontier(state: Path, xtr, xte, ytr, yte, graph, ep, emit) -> None:
    """Fine-tune a trained k=2 preset (experiment=conv2_fashion_funnel1024) end to end with reconstruction +
    weight x the neighbour loss over the AE-64 graph: how much 5-NN a decodable map buys for how much MSE."""
    saved = {k: v.float() for k, v in torch.load(state, map_location=DEV).items()}
    for weight in (0.0, 0.03, 0.1, 0.3, 1.0):
        enc = StridedConvEncoder((1, 28, 28), 2, [32, 64], activation="gelu", dense_dims=[1024, 256]).to(DEV)
        dec = decoder_net()
        enc.load_state_dict({k[8:]: v for k, v in saved.items() if k.startswith("encoder.")})
        dec.load_state_dict({k[8:]: v for k, v in saved.items() if k.startswith("decoder.")})
        if weight == 0.0:
            emit(
                part="frontier",
                epochs=0,
                knn5=knn_accuracy(apply(enc, xtr), ytr, apply(enc, xte), yte),
                mse=test_mse(dec, apply(enc, xte), xte),
            )

        def loss(r, enc=enc, dec=dec, weight=weight):
            both = torch.cat([r, graph[r, torch.randint(graph.shape[1], (len(r),), device=DEV)]])
            z = enc(xtr[both])
            return (dec(z) - xtr[both]).pow(2).mean() + weight * pair_contrastive_loss(z)

        s = loop(list(enc.parameters()) + list(dec.parameters()), loss, len(xtr), ep(8), 64, 5e-4)
        emit(
            part="frontier",
            weight=weight,
            epochs=8,
            fit_s=round(s, 1),
            knn5=knn_accuracy(apply(enc, xtr), ytr, apply(enc, xte), yte),
            mse=test_mse(dec, apply(enc, xte), xte),
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--budget", type=float, default=480.0, help="seconds; parts that would start later are skipped")
    p.add_argument("--finetune", type=Path, help="encoder/decoder state of a k=2 preset run: run only the frontier")
    p.add_argument("--quick", action="store_true", help="tiny epochs and rows, to check the script on a CPU")
    args = p.parse_args()
    t_start = time.perf_counter()
    torch.manual_seed(0)
    d = np.load(args.data)
    rows = 3000 if args.quick else None
    xtr = torch.from_numpy(d["xtr"][:rows]).to(DEV).float().div_(255)
    xte = torch.from_numpy(d["xte"][:rows]).to(DEV).float().div_(255)
    ytr, yte = d["ytr"][:rows], d["yte"][:rows]
    ztr, zte = (torch.from_numpy(d[k][:rows].astype(np.float32)).to(DEV) for k in ("ztr", "zte"))
    mu, sd = ztr.mean(0), ztr.std(0)
    ztr, zte = (ztr - mu) / sd, (zte - mu) / sd
    ep = (lambda e: max(1, e // 100)) if args.quick else (lambda e: e)
    out = args.out.open("a")

    def emit(**rec) -> None:
        rec["elapsed_s"] = round(time.perf_counter() - t_start, 1)
        print(json.dumps(rec), flush=True)
        out.write(json.dumps(rec) + "\n")
        out.flush()

    emit(part="setup", device=str(torch.cuda.get_device_name(0) if DEV.type == "cuda" else "cpu"))
    graphs = {k: neighbour_graph(ztr, k) for k in (5, 15)}
    emit(part="setup", knn5_ae64=knn_accuracy(ztr, ytr, zte, yte))

    def fit_head(z_tr, graph, width=512, depth=2, epochs=200, batch=1024, lr=1e-3, dof=1.0) -> tuple[nn.Module, float]:
        head = head_net(width, depth, z_tr.shape[1])
        s = loop(head.parameters(), lambda r: ne_loss(head, z_tr, graph, r, dof), len(z_tr), ep(epochs), batch, lr)
        return head, s

    if args.finetune:
        frontier(args.finetune, xtr, xte, ytr, yte, graphs[15], ep, emit)
        return
    heads = {}
    grid = [
        dict(epochs=200),
        dict(epochs=400),
        dict(epochs=100),
        dict(epochs=200, width=256),
        dict(epochs=200, batch=2048, lr=2e-3),
        dict(epochs=200, k=5),
        dict(epochs=200, dof=0.5),
        dict(epochs=200, width=1024, depth=3),
    ]
    for cfg in grid:
        if time.perf_counter() - t_start > args.budget * 0.45:
            break
        key, cfg = json.dumps(cfg, sort_keys=True), dict(cfg)
        head, s = fit_head(ztr, graphs[cfg.pop("k", 15)], **cfg)
        heads[key] = (knn_accuracy(apply(head, ztr), ytr, apply(head, zte), yte), head)
        emit(part="head", **json.loads(key), fit_s=round(s, 1), knn5=heads[key][0])

    best_key = max(heads, key=lambda k: heads[k][0])
    head = heads[best_key][1]
    ctr, cte = apply(head, ztr), apply(head, zte)
    scale, dec30 = float(ctr.std()), None
    for epochs, batch in ((30, 128), (60, 128)):
        if time.perf_counter() - t_start > args.budget * 0.65:
            break
        dec = decoder_net()
        s = loop(
            dec.parameters(),
            lambda r, dec=dec: (dec(ctr[r] / scale) - xtr[r]).pow(2).mean(),
            len(xtr),
            ep(epochs),
            batch,
            2e-3,
        )
        emit(
            part="decoder",
            head=best_key,
            epochs=epochs,
            batch=batch,
            fit_s=round(s, 1),
            mse=test_mse(lambda c, dec=dec: dec(c / scale), cte, xte),
        )
        if epochs == 30:
            dec30 = dec

    for weight in (0.01, 0.001):
        if dec30 is None or time.perf_counter() - t_start > args.budget * 0.8:
            break
        h, dec = copy.deepcopy(head), copy.deepcopy(dec30)

        def joint(r, h=h, dec=dec, weight=weight, graph=graphs[15]):
            partners = graph[r, torch.randint(graph.shape[1], (len(r),), device=DEV)]
            both = torch.cat([r, partners])
            codes = h(ztr[both])
            return (dec(codes / scale) - xtr[both]).pow(2).mean() + weight * pair_contrastive_loss(codes)

        s = loop(list(h.parameters()) + list(dec.parameters()), joint, len(xtr), ep(20), 256, 5e-4)
        jtr, jte = apply(h, ztr), apply(h, zte)
        emit(
            part="joint",
            weight=weight,
            epochs=20,
            fit_s=round(s, 1),
            knn5=knn_accuracy(jtr, ytr, jte, yte),
            mse=test_mse(lambda c, dec=dec: dec(c / scale), jte, xte),
        )

    emit(part="done")


if __name__ == "__main__":
    main()
