"""A neighbour-embedding penalty: codes of neighbouring images close, codes of the rest of the batch apart.

An autoencoder's code is shaped only by what the decoder needs, so at very small k (a 2-D map) images of different
kinds share regions of the code and nearest-neighbour classification on it is poor. t-SNE and UMAP instead place
each point near its nearest neighbours. This term brings that into the AE as contrastive neighbour embedding
(InfoNC-t-SNE in Damrich et al., ICLR 2023; t-SimCNE's Cauchy-kernel loss, Boehm et al. 2023): with each training
image paired with one of its k nearest training images (``data.neighbours=k``), every code should be more similar to
its partner's than to any other code of the batch, the similarity being t-SNE's Student-t kernel
``(1 + |zi - zj|^2 / dof)^-(dof + 1) / 2``. Unlike t-SNE's map, the encoder then places new images in one pass.
"""

from __future__ import annotations

import torch
from torch import nn

from aelab.models.penalties.base import Penalty, StepOutputs


def student_t_similarity(z: torch.Tensor, dof: float) -> torch.Tensor:
    """(B, B) Student-t kernel between the rows of z, with the diagonal (a code with itself) set to zero."""
    sq = torch.cdist(z, z).pow(2)
    kernel = (1 + sq / dof).pow(-(dof + 1) / 2)
    return kernel.masked_fill(torch.eye(len(z), dtype=torch.bool, device=z.device), 0.0)


def pair_contrastive_loss(z: torch.Tensor, dof: float = 1.0) -> torch.Tensor:
    """Mean over the 2B codes of -log(sim(code, partner) / sum of sim(code, every other code)); rows i and i + B
    are partners."""
    z = z.flatten(1).float()
    half = len(z) // 2
    sim = student_t_similarity(z, dof)
    partner = torch.cat([torch.arange(half, 2 * half), torch.arange(half)]).to(z.device)
    positive = sim[torch.arange(2 * half, device=z.device), partner]
    return (torch.log(sim.sum(1).clamp_min(1e-30)) - torch.log(positive.clamp_min(1e-30))).mean()


class NeighbourEmbedding(Penalty):
    """weight * the contrastive neighbour loss of the batch's codes; needs ``data.neighbours`` > 0, which makes each
    training batch B images followed by one nearest neighbour of each.

    Only training batches are pairs, so the term is 0 in validation and test: val/loss is the reconstruction
    alone there. ``dof`` = 1 is t-SNE's Cauchy kernel, right for 2-D maps; larger values give lighter tails, closer
    to a Gaussian, for higher-dimensional codes.
    """

    name = "neighbour_embedding"

    def __init__(self, weight: float = 0.01, dof: float = 1.0) -> None:
        super().__init__(weight)
        if dof <= 0:
            raise ValueError(f"NeighbourEmbedding: dof (the Student-t degrees of freedom) must be > 0, got {dof}")
        self.dof = float(dof)
        self._pairs_checked = False

    def bind(self, model: nn.Module) -> None:
        self._model = [model]  # in a list, so it is not registered as a submodule of the model itself

    def term(self, out: StepOutputs) -> torch.Tensor:
        model = getattr(self, "_model", [None])[0]
        if model is not None and not model.training:
            return out.z.new_zeros(())
        trainer = getattr(model, "_trainer", None)  # None outside a fit: the caller hands in the pairs itself
        if trainer is not None and not self._pairs_checked:
            self._pairs_checked = bool(getattr(getattr(trainer, "datamodule", None), "neighbours", 0))
        if len(out.z) % 2 or (trainer is not None and not self._pairs_checked):
            raise ValueError(
                "penalty neighbour_embedding needs training batches of neighbour pairs (B images, then one nearest "
                "neighbour of each), but the data module serves plain batches: set data.neighbours to k > 0, "
                "e.g. data.neighbours=15."
            )
        return pair_contrastive_loss(out.z, self.dof)
