"""Training batches of neighbour pairs: each image comes with one of its nearest training images (``data.neighbours``).

A neighbour-embedding loss (models/penalties/neighbours.py) needs to know which images are near each other in the
whole training set, not only within a batch: a batch of 512 out of 54,000 images holds almost none of an image's
true nearest neighbours. As t-SNE and UMAP do before they optimise, the exact k nearest neighbours of every training
image (Euclidean, in pixels) are found once when the loader is built; each batch then holds B images followed by one
neighbour of each, drawn at random from its k, so the model sees 2B images whose halves pair up row by row.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from aelab.data.tensor_data import ImageTensorDataset, to_unit_float

CHUNK = 2048  # query images per distance block: a CHUNK x N float32 block (440 MB at N = 54,000)


@torch.no_grad()
def nearest_neighbours(images_uint8: torch.Tensor, k: int) -> torch.Tensor:
    """(N, k) indices of each image's k nearest other images by Euclidean pixel distance (exact, by blocks)."""
    n = len(images_uint8)
    if not 1 <= k < n:
        raise ValueError(f"data.neighbours={k}: need 1 <= k < the {n} training images")
    flat = to_unit_float(images_uint8).flatten(1)
    sq_norms = (flat * flat).sum(1)
    found = []
    for start in range(0, n, CHUNK):
        block = flat[start : start + CHUNK]
        dist = sq_norms[start : start + CHUNK, None] - 2 * block @ flat.T + sq_norms[None, :]
        rows = torch.arange(len(block))
        dist[rows, rows + start] = float("inf")  # an image is not its own neighbour
        found.append(dist.topk(k, dim=1, largest=False).indices)
    return torch.cat(found)


class NeighbourPairs(ImageTensorDataset):
    """A training split whose batches are ``[images; one random nearest neighbour of each]`` (2B rows).

    The neighbour table is built on first use from this split's own images, so it always matches the rows served,
    and the random choice of neighbour comes from torch's global generator (seeded by ``seed``, as Lightning's
    shuffling is).
    """

    def __init__(self, split: ImageTensorDataset, k: int) -> None:
        super().__init__(split._images, split._labels, split.rows)
        self.k = int(k)
        self._table: torch.Tensor | None = None

    @property
    def table(self) -> torch.Tensor:
        if self._table is None:
            self._table = nearest_neighbours(self.images, self.k)
        return self._table

    def __getitems__(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.as_tensor(indices, dtype=torch.long)
        choice = torch.randint(self.k, (len(index),))
        partners = self.table[index, choice]
        return super().__getitems__(torch.cat([index, partners]))
