"""What is logged while training: the PCA yardstick, reconstructions, latent averages, probe accuracy, and a
VAE's prior samples and latent interpolations; at the end, the test codes as a table."""

from aelab.callbacks.code_table import CodeTable
from aelab.callbacks.epoch_timer import EpochTimer
from aelab.callbacks.latent_averages import LatentAverages
from aelab.callbacks.latent_probe import LatentProbe
from aelab.callbacks.pca_baseline import PCABaseline
from aelab.callbacks.reconstructions import ReconstructionGrid
from aelab.callbacks.vae_panels import GenerativePanels

__all__ = [
    "CodeTable",
    "EpochTimer",
    "GenerativePanels",
    "LatentAverages",
    "LatentProbe",
    "PCABaseline",
    "ReconstructionGrid",
]
