"""Image retrieval by nearest neighbours in code space (seed 003): a query's k nearest training codes, and how many
of them share its label (precision@k), which says how much class structure the code's geometry keeps."""

from __future__ import annotations

import torch


@torch.no_grad()
def nearest_neighbours(
    query_codes: torch.Tensor, gallery_codes: torch.Tensor, k: int, batch_size: int = 1024
) -> torch.Tensor:
    """Indices (Q, k) of the ``k`` gallery codes nearest to each query (Euclidean), nearest first.

    Distances are computed a block of queries at a time, so a 60k gallery never needs a Q x 60k matrix at once.
    Nothing is excluded: queries (test) and gallery (train) are different images.
    """
    if not 0 < k <= len(gallery_codes):
        raise ValueError(f"retrieval k must be between 1 and the gallery size {len(gallery_codes)}; got {k}")
    gallery = gallery_codes.flatten(1).float()
    found = []
    for start in range(0, len(query_codes), batch_size):
        queries = query_codes[start : start + batch_size].flatten(1).float().to(gallery.device)
        distances = torch.cdist(queries, gallery)
        found.append(distances.topk(k, dim=1, largest=False).indices.cpu())
    return torch.cat(found)


def precision_at_k(neighbour_labels: torch.Tensor, query_labels: torch.Tensor) -> float:
    """Mean share of each query's neighbours (Q, k) whose label equals the query's (Q,)."""
    return float((neighbour_labels == query_labels[:, None]).float().mean())
