"""What every aelab data module shares: named splits of uint8 images served as whole batches."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import pytorch_lightning as pl
from torch.utils.data import DataLoader

from aelab.data.augment import build_augment
from aelab.data.neighbours import NeighbourPairs
from aelab.data.preprocessing import Preprocessing
from aelab.data.tensor_data import BatchGroup, ImageTensorDataset, batch_loader
from aelab.errors import DataNotFoundError


def split_of(datamodule: Any, split: str) -> ImageTensorDataset:
    """The ``split`` ('train', 'val', 'test') of a data module that exposes ``.splits``, as aelab's do: what the PCA
    yardstick, the callbacks and the report read their images from."""
    splits = getattr(datamodule, "splits", None)
    if not splits or split not in splits:
        raise RuntimeError(
            f"this needs a data module that exposes .splits['{split}'] (as aelab's data modules do); "
            f"got {type(datamodule).__name__}"
        )
    return splits[split]


class SplitDataModule(pl.LightningDataModule):
    """Subclasses fill ``self.splits`` ('train', 'val', 'test', optionally 'predict') in ``setup``, set
    ``self.class_names`` and then call ``exclude_from_training``; hparams must hold batch_size, eval_batch_size,
    num_workers and pin_memory (and may hold exclude_classes). ``augment`` (``data.augment``) is applied to
    training batches only; ``neighbours`` > 0 makes each training batch B images and then one of the k nearest
    training images of each (neighbours.py)."""

    name: str = "data"

    def __init__(self, augment: Mapping[str, Any] | None = None, group_batches: int = 1, neighbours: int = 0) -> None:
        super().__init__()
        if isinstance(neighbours, bool) or not isinstance(neighbours, int) or neighbours < 0:
            raise ValueError(
                f"data.neighbours must be a whole number >= 0, got {neighbours!r}: 0 serves plain batches, k > 0 pairs "
                "every training image with one of its k nearest training images (for penalty=neighbour_embedding)."
            )
        self.neighbours = neighbours
        self._paired: NeighbourPairs | None = None
        if isinstance(group_batches, bool) or not isinstance(group_batches, int) or group_batches < 1:
            raise ValueError(
                f"data.group_batches must be a whole number of training batches, 1 or more; got {group_batches!r}. "
                "Use 1 to hand the model one batch at a time."
            )
        self.group_batches = group_batches
        self.splits: dict[str, ImageTensorDataset] = {}
        self.class_names: list[str] | tuple[str, ...] = []
        self.augment = build_augment(augment)

    def on_before_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Augment training batches on the host, while they are still uint8 (the model scales them after the copy)."""
        if self.augment is None or self.trainer is None or not self.trainer.training:
            return batch
        if isinstance(batch, BatchGroup):
            return BatchGroup((self.augment(images), labels) for images, labels in batch)
        images, labels = batch
        return self.augment(images), labels

    def preprocessing(self) -> Preprocessing:
        """How source images become this module's uint8 images: recorded in checkpoints for inference."""
        return Preprocessing(tuple(self.shape), "arrays")

    def split_items(self, split: str) -> list[str]:
        """What identifies the items of ``split``, in order: row numbers and labels here; image folders name files."""
        dataset = self.splits[split]
        rows = range(len(dataset)) if dataset.rows is None else dataset.rows.tolist()
        return [f"{r}:{label}" for r, label in zip(rows, dataset.labels.tolist())]

    def split_record(self) -> dict[str, dict[str, Any]]:
        """Per split, how many items and a sha256 of which: stored in checkpoints, so evaluate.py can tell when
        the data it rebuilt is not the data the model was trained and tested on."""
        if getattr(self, "_split_record", None) is None:
            self._split_record = {
                name: {
                    "count": len(self.splits[name]),
                    "sha256": hashlib.sha256("\n".join(self.split_items(name)).encode()).hexdigest(),
                }
                for name in sorted(self.splits)
            }
        return self._split_record

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def excluded_class_indices(self, classes: Sequence[int | str] | None) -> list[int]:
        """``data.exclude_classes`` (indices or class names) as sorted indices; refuses unknown classes and
        leaving no class to train on."""
        if not classes:
            return []
        known = ", ".join(f"{i}={name}" for i, name in enumerate(self.class_names))
        indices = set()
        for c in classes:
            if isinstance(c, str) and c in self.class_names:
                indices.add(list(self.class_names).index(c))
            elif isinstance(c, int) and not isinstance(c, bool) and 0 <= c < self.num_classes:
                indices.add(c)
            else:
                raise ValueError(
                    f"data.exclude_classes={list(classes)}: {self.name} has no class {c!r}. Name classes by index "
                    f"or by name; its classes are {known}."
                )
        if len(indices) >= self.num_classes:
            raise ValueError(
                f"data.exclude_classes={list(classes)} leaves out every class of {self.name}, so nothing is left to "
                "train on; keep at least one class out of data.exclude_classes."
            )
        return sorted(indices)

    def exclude_from_training(self) -> None:
        """Drop ``data.exclude_classes`` from train and val but keep them in test, so a model that never saw a
        class can be scored on telling it apart (anomaly detection by reconstruction error)."""
        excluded = self.excluded_class_indices(self.hparams.get("exclude_classes"))
        for split in ("train", "val") if excluded else ():
            self.splits[split] = self.splits[split].without_labels(excluded)

    def training_group_size(self) -> int:
        """How many training batches each Lightning batch holds: ``data.group_batches`` where the trainer runs
        whole epochs on one device for a model that takes groups, else 1. Lightning's batch counts
        (limit_train_batches, val_check_interval, fast_dev_run) then keep meaning single batches."""
        trainer = self.trainer
        if self.group_batches == 1 or trainer is None or self.neighbours:
            return 1
        if not getattr(trainer.lightning_module, "takes_batch_groups", False) or trainer.world_size > 1:
            return 1
        whole = [trainer.limit_train_batches, trainer.val_check_interval]  # 1.0 (a float): the whole epoch
        if trainer.fast_dev_run or any(not (isinstance(v, float) and v == 1.0) for v in whole):
            return 1
        return self.group_batches

    def _loader(self, split: str, train: bool = False) -> DataLoader:
        if split not in self.splits:
            raise DataNotFoundError(f"{self.name}: there is no '{split}' split (found {sorted(self.splits)})")
        return batch_loader(
            self.train_split() if train else self.splits[split],
            self.hparams.batch_size if train else self.hparams.eval_batch_size,
            shuffle=train,
            num_workers=self.hparams.num_workers,
            pin_memory=self.hparams.pin_memory,
            group=self.training_group_size() if train else 1,
        )

    def train_split(self) -> ImageTensorDataset:
        """The split training batches come from: neighbour pairs of the train split when ``data.neighbours`` > 0."""
        if not self.neighbours:
            return self.splits["train"]
        if self._paired is None or self._paired.rows is not self.splits["train"].rows:
            self._paired = NeighbourPairs(self.splits["train"], self.neighbours)
        return self._paired

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")

    def predict_dataloader(self) -> DataLoader:
        return self._loader("predict")
