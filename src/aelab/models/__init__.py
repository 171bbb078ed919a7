"""LightningModules. ``AutoEncoder`` owns the objective; variants are configurations of it."""

from aelab.models.autoencoder import AutoEncoder
from aelab.models.penalties import Penalty, StepOutputs

__all__ = ["AutoEncoder", "Penalty", "StepOutputs"]
