"""What every aelab data module shares: named splits of uint8 images served as whole batches."""

from __future__ import annotations

import pytorch_lightning as pl
from torch.utils.data import DataLoader

from aelab.data.tensor_data import ImageTensorDataset, batch_loader
from aelab.errors import DataNotFoundError


class SplitDataModule(pl.LightningDataModule):
    """Subclasses fill ``self.splits`` ('train', 'val', 'test', optionally 'predict') in ``setup`` and set
    ``self.class_names``; hparams must hold batch_size, eval_batch_size, num_workers and pin_memory."""

    name: str = "data"

    def __init__(self) -> None:
        super().__init__()
        self.splits: dict[str, ImageTensorDataset] = {}
        self.class_names: list[str] | tuple[str, ...] = []

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def _loader(self, split: str, train: bool = False) -> DataLoader:
        if split not in self.splits:
            raise DataNotFoundError(f"{self.name}: there is no '{split}' split (found {sorted(self.splits)})")
        return batch_loader(
            self.splits[split],
            self.hparams.batch_size if train else self.hparams.eval_batch_size,
            shuffle=train,
            num_workers=self.hparams.num_workers,
            pin_memory=self.hparams.pin_memory,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")

    def predict_dataloader(self) -> DataLoader:
        return self._loader("predict")
