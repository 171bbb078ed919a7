"""What is logged while training: the PCA yardstick, reconstructions, latent averages, probe accuracy."""

from aelab.callbacks.epoch_timer import EpochTimer
from aelab.callbacks.latent_averages import LatentAverages
from aelab.callbacks.latent_probe import LatentProbe
from aelab.callbacks.pca_baseline import PCABaseline
from aelab.callbacks.reconstructions import ReconstructionGrid

__all__ = ["EpochTimer", "LatentAverages", "LatentProbe", "PCABaseline", "ReconstructionGrid"]
