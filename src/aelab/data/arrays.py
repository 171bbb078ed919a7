"""A data module over uint8 images in a .npy file: what ``AutoEncoderReducer.fit`` trains on (the reducer turns
your arrays or image files into it with the shared preprocessing, and records how in ``preprocessing``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from aelab.data.base import SplitDataModule
from aelab.data.preprocessing import Preprocessing
from aelab.data.splits import check_split_size, three_way_split
from aelab.data.tensor_data import ImageTensorDataset
from aelab.errors import DataNotFoundError
from aelab.files import expand_path


class ArrayDataModule(SplitDataModule):
    """uint8 images (N, C, H, W) from ``path`` (.npy), labels from ``labels_path`` (or all -1); a seeded
    ``test_size`` and then ``val_size`` are held out."""

    def __init__(
        self,
        path: str,
        labels_path: str | None = None,
        name: str = "array",
        preprocessing: dict[str, Any] | None = None,
        batch_size: int = 128,
        eval_batch_size: int = 512,
        val_size: float = 0.1,
        test_size: float = 0.1,
        seed: int = 0,
        num_workers: int = 0,
        pin_memory: bool = False,
        shape: list[int] | tuple[int, ...] | None = None,
        exclude_classes: list[int | str] | tuple[int | str, ...] = (),
        augment: dict[str, Any] | None = None,
        group_batches: int = 1,
        neighbours: int = 0,
    ) -> None:
        super().__init__(augment, group_batches, neighbours)
        check_split_size(val_size, "data.val_size")
        check_split_size(test_size, "data.test_size")
        self.save_hyperparameters(logger=False)
        self.name = name
        self.path = expand_path(path)
        if not self.path.is_file():
            raise DataNotFoundError(f"data.path={self.path} does not exist; it should be a .npy of uint8 images")
        images = np.load(self.path, mmap_mode="r")
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1] not in (1, 3):
            raise ValueError(
                f"{self.path} holds {images.dtype} {list(images.shape)}; expected uint8 (N, C, H, W), C 1 or 3"
            )
        self._shape = tuple(int(d) for d in images.shape[1:])
        if shape is not None and tuple(shape) != self._shape:
            raise ValueError(f"data.shape is {list(shape)} but {self.path} holds images of shape {list(self._shape)}")
        self.record = Preprocessing.from_dict(preprocessing or {"shape": self._shape, "source": "arrays"})

    @property
    def shape(self) -> tuple[int, int, int]:
        return self._shape  # type: ignore[return-value]

    def preprocessing(self) -> Preprocessing:
        return self.record

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        hp = self.hparams
        images = torch.from_numpy(np.load(self.path))
        labels = torch.from_numpy(np.load(expand_path(hp.labels_path)).astype(np.int64)) if hp.labels_path else None
        labels = torch.full((len(images),), -1, dtype=torch.long) if labels is None else labels
        self.class_names = [str(c) for c in sorted(set(labels.tolist()))] if hp.labels_path else ["all"]
        train, val, test = three_way_split(len(images), hp.val_size, hp.test_size, hp.seed)
        for split, chosen in (("train", train), ("val", val), ("test", test)):
            self.splits[split] = ImageTensorDataset(images, labels, torch.from_numpy(chosen))
        self.exclude_from_training()

    def split_items(self, split: str) -> list[str]:
        return [str(r) for r in self.splits[split].rows.tolist()]


def data_module_path(folder: Path) -> tuple[Path, Path]:
    """Where the reducer writes the images and labels it trains on."""
    return folder / "images.npy", folder / "labels.npy"
