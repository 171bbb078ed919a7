"""LightningDataModules that hand out uint8 image batches; the model scales them to float on the device."""

from aelab.data.mnist import MNISTDataModule
from aelab.data.tensor_data import ImageTensorDataset

__all__ = ["ImageTensorDataset", "MNISTDataModule"]
