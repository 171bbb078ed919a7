"""Neighbour pairs in the training batches (data.neighbours) and the neighbour-embedding penalty that uses them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.neighbors import NearestNeighbors

from aelab.build import build
from aelab.data.mnist import load_embedded_sample
from aelab.data.neighbours import NeighbourPairs, nearest_neighbours
from aelab.data.tensor_data import ImageTensorDataset
from aelab.models.penalties.neighbours import pair_contrastive_loss
from aelab.pipeline import train

PAIRED = ["penalty=neighbour_embedding", "model.penalties.neighbour_embedding.weight=0.5", "data.source=sample"]


def digits(n: int = 300) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = load_embedded_sample()
    rows = np.random.default_rng(0).permutation(len(images))[:n]
    return torch.from_numpy(images[rows]), torch.from_numpy(labels[rows])


def test_nearest_neighbours_are_scikit_learns_exact_ones():
    images, _ = digits()
    found = nearest_neighbours(images, 5)
    flat = images.flatten(1).float().numpy() / 255
    expected = NearestNeighbors(n_neighbors=6).fit(flat).kneighbors(flat, return_distance=False)[:, 1:]
    assert (found.numpy() == expected).mean() > 0.99  # exact up to ties at equal distances
    assert not (found == torch.arange(len(images))[:, None]).any()  # never the image itself
    with pytest.raises(ValueError, match="data.neighbours=300"):
        nearest_neighbours(images, 300)


def test_each_batch_is_images_then_one_of_their_nearest_neighbours():
    images, labels = digits()
    split = ImageTensorDataset(images, labels, rows=torch.arange(50, 300))  # a row subset, as a val split leaves
    pairs = NeighbourPairs(split, k=3)
    batch, _ = pairs.__getitems__([0, 7, 42])
    assert len(batch) == 6 and torch.equal(batch[:3], split.__getitems__([0, 7, 42])[0])
    table = nearest_neighbours(split.images, 3)
    for i, row in enumerate([0, 7, 42]):
        assert any(torch.equal(batch[3 + i], split.images[j]) for j in table[row])


def test_the_loss_is_lowest_when_partners_share_a_code_and_training_pulls_them_together():
    torch.manual_seed(0)
    z = torch.randn(32, 2) * 3
    together = torch.cat([z[:16], z[:16] + 0.01])
    assert pair_contrastive_loss(together) < pair_contrastive_loss(z) - 1
    z.requires_grad_(True)
    optimizer = torch.optim.Adam([z], lr=0.1)
    partner = torch.cat([torch.arange(16, 32), torch.arange(16)])

    def partners_nearest() -> float:  # share of codes whose nearest other code is their partner's
        with torch.no_grad():
            d = torch.cdist(z, z).fill_diagonal_(float("inf"))
        return float((d.argmin(1) == partner).float().mean())

    before = partners_nearest()
    for _ in range(200):
        optimizer.zero_grad()
        pair_contrastive_loss(z).backward()
        optimizer.step()
    assert before < 0.2 and partners_nearest() > 0.9


def test_a_run_with_neighbour_pairs_trains_and_logs_the_term(make_config):
    cfg = make_config(*PAIRED, "data.neighbours=5", "trainer.log_every_n_steps=1")
    metrics = train(cfg)
    logged = (Path(cfg.paths.output_dir) / "csv" / "metrics.csv").read_text().splitlines()
    column = logged[0].split(",").index("train/neighbour_embedding")
    terms = [float(line.split(",")[column]) for line in logged[1:] if line.split(",")[column]]
    assert len(terms) == 3 and all(t > 0 for t in terms) and np.isfinite(metrics["test/mse"])


def test_the_penalty_without_neighbour_pairs_says_what_to_set(make_config):
    with pytest.raises(ValueError, match=r"set data.neighbours to k > 0"):
        train(make_config(*PAIRED))
    with pytest.raises(ValueError, match="data.neighbours must be a whole number >= 0"):
        build(make_config("data.source=sample", "data.neighbours=-1").data)
