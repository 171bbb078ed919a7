"""Regularisers added to the reconstruction loss: the Penalty seam (base.py) and the penalties of the ``penalty=``
config group: L1 activity and KL sparsity (sparsity.py), contractive (contractive.py), L2 on named parameters
(parameter_l2.py), neighbour embedding (neighbours.py)."""

from aelab.models.penalties.base import Penalty, StepOutputs, build_penalties
from aelab.models.penalties.contractive import Contractive
from aelab.models.penalties.neighbours import NeighbourEmbedding
from aelab.models.penalties.parameter_l2 import ParameterL2
from aelab.models.penalties.sparsity import KLSparsity, L1Activity

__all__ = [
    "Contractive",
    "KLSparsity",
    "L1Activity",
    "NeighbourEmbedding",
    "ParameterL2",
    "Penalty",
    "StepOutputs",
    "build_penalties",
]
