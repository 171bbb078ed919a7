"""LightningDataModules over folders of image files: any ImageFolder-style tree, and the Intel scene data set.

Images are decoded once with OpenCV into a memory-mapped uint8 cache (see image_cache.py); batches are gathered
from it, so an epoch does no decoding and no per-image Python.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pytorch_lightning.utilities import rank_zero_warn

from aelab.data.base import SplitDataModule
from aelab.data.decode import MAX_IMAGE_PIXELS, check_decode_options, check_max_pixels
from aelab.data.image_cache import CachedImages, load_or_build
from aelab.data.preprocessing import Preprocessing
from aelab.data.splits import check_split_size, holdout_size, random_holdout
from aelab.data.tensor_data import ImageTensorDataset
from aelab.errors import DataNotFoundError
from aelab.files import expand_path

log = logging.getLogger(__name__)


def class_folders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def files_in(folder: Path) -> list[Path]:
    """Every visible file below ``folder``; files that are not images are found out (and counted) when decoded."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def list_labelled(folder: Path, class_names: list[str]) -> tuple[list[Path], list[int]]:
    files, labels = [], []
    for label, name in enumerate(class_names):
        sub = folder / name
        found = files_in(sub) if sub.is_dir() else []
        files += found
        labels += [label] * len(found)
    return files, labels


def skipped_message(cache: CachedImages, total: int, shown: int = 5) -> str:
    """'skipped k of n files ...' with each file's reason, the first ``shown`` of them (the sidecar lists all)."""
    reasons = cache.reasons or [""] * len(cache.skipped)
    listed = "; ".join(f"{path} ({why or 'not decodable'})" for path, why in zip(cache.skipped[:shown], reasons))
    more = len(cache.skipped) - shown
    rest = f"; and {more} more, all listed in {cache.path.with_suffix('.json')}" if more > 0 else ""
    return f"skipped {len(cache.skipped)} of {total} files that cannot be used as images: {listed}{rest}"


class ImageFolderDataModule(SplitDataModule):
    """Your own images: ``root/<class>/*`` (a seeded part becomes the test split) or ``root/{train,test}/<class>/*``."""

    def __init__(
        self,
        root: str,
        name: str = "image_folder",
        image_size: int = 128,
        resize: str = "stretch",
        interpolation: str = "area",
        cache_dir: str = ".cache/aelab",
        batch_size: int = 32,
        eval_batch_size: int = 128,
        val_size: float = 0.1,
        test_size: float = 0.2,
        seed: int = 0,
        num_workers: int = 0,
        pin_memory: bool = False,
        decode_workers: int = 0,
        max_image_pixels: int = MAX_IMAGE_PIXELS,
        shape: list[int] | tuple[int, ...] | None = None,
        exclude_classes: list[int | str] | tuple[int | str, ...] = (),
        augment: dict[str, Any] | None = None,
        group_batches: int = 1,
        neighbours: int = 0,
    ) -> None:
        super().__init__(augment, group_batches, neighbours)
        check_decode_options(resize, interpolation)
        check_max_pixels(max_image_pixels)
        if image_size < 8:
            raise ValueError(f"data.image_size must be at least 8, got {image_size}")
        if shape is not None and tuple(shape) != (3, image_size, image_size):
            raise ValueError(f"data.shape is {list(shape)} but images are decoded to [3, {image_size}, {image_size}]")
        check_split_size(val_size, "data.val_size")
        check_split_size(test_size, "data.test_size")
        if val_size < 1 and test_size < 1 and val_size + test_size >= 1:
            raise ValueError(
                f"data.val_size={val_size} and data.test_size={test_size} together hold out all the images; "
                "keep their sum below 1 so some are left to train on."
            )
        self.save_hyperparameters(logger=False)
        self.name = name
        self.root = expand_path(root)
        self.caches: dict[str, CachedImages] = {}

    @property
    def shape(self) -> tuple[int, int, int]:
        size = self.hparams.image_size
        return (3, size, size)

    def preprocessing(self) -> Preprocessing:
        hp = self.hparams
        return Preprocessing(self.shape, "files", hp.resize, hp.interpolation)

    # -- layout: subclasses override these two --------------------------------------------------------------
    def layout_error(self, problem: str) -> DataNotFoundError:
        return DataNotFoundError(
            f"{self.name}: {problem}.\nExpected either\n"
            f"  {self.root}/<class>/<image files>            (a seeded {self.hparams.test_size:.0%} becomes the test split)\n"
            f"or\n  {self.root}/train/<class>/<image files>\n  {self.root}/test/<class>/<image files>\n"
            f"Set data.root to the folder that holds the class folders."
        )

    def find_split_folders(self) -> dict[str, Path | None]:
        """Folders of the 'train', 'test' (None: carve it from train) and 'predict' (None: none) splits."""
        if not self.root.is_dir():
            raise self.layout_error(f"data.root {self.root} does not exist")
        train, test = self.root / "train", self.root / "test"
        if train.is_dir() and test.is_dir():
            return {"train": train, "test": test, "predict": None}
        return {"train": self.root, "test": None, "predict": None}

    # -- Lightning hooks -------------------------------------------------------------------------------------
    def prepare_data(self) -> None:
        """Decode into the caches (rank 0 only under DDP; the other ranks then open them)."""
        self._load_caches()

    def setup(self, stage: str | None = None) -> None:
        if not self.splits:
            self._build_splits(self._load_caches())

    # -- internals -------------------------------------------------------------------------------------------
    def _load_caches(self) -> dict[str, CachedImages]:
        if self.caches:
            return self.caches
        folders = self.find_split_folders()
        self.class_names = [p.name for p in class_folders(folders["train"])]
        if not self.class_names:
            raise self.layout_error(f"{folders['train']} has no class folders")
        listings = {"train": list_labelled(folders["train"], self.class_names)}
        if folders["test"] is not None:
            listings["test"] = list_labelled(folders["test"], self.class_names)
        if folders["predict"] is not None:
            found = files_in(folders["predict"])
            listings["predict"] = (found, [-1] * len(found))
        if not listings["train"][0]:
            raise self.layout_error(f"no files under the class folders of {folders['train']}")
        empty = [name for i, name in enumerate(self.class_names) if i not in set(listings["train"][1])]
        if empty:
            rank_zero_warn(
                f"{self.name}: the class folders {empty} under {folders['train']} hold no files; they still count as "
                "classes (the probe and the reports list them). Remove them, or add their images."
            )
        hp = self.hparams
        for split, (files, labels) in listings.items():
            cache = load_or_build(
                f"{self.name}-{split}",
                files,
                labels,
                expand_path(hp.cache_dir),
                hp.image_size,
                hp.resize,
                hp.interpolation,
                hp.decode_workers,
                max_pixels=hp.max_image_pixels,
            )
            if cache.skipped:
                rank_zero_warn(f"{self.name} {split}: {skipped_message(cache, len(files))}")
            self.caches[split] = cache
        if len(self.caches["train"].labels) == 0:
            raise self.layout_error(f"none of the files under {folders['train']} could be decoded as an image")
        return self.caches

    def _build_splits(self, caches: dict[str, CachedImages]) -> None:
        hp = self.hparams

        def dataset(cache: CachedImages, rows: np.ndarray | None = None) -> ImageTensorDataset:
            return ImageTensorDataset(torch.from_numpy(cache.images), torch.from_numpy(cache.labels), rows)

        train = caches["train"]
        rows = np.arange(len(train.labels))
        if "test" in caches:
            self.splits["test"] = dataset(caches["test"])
        else:
            keep, test = random_holdout(len(rows), holdout_size(len(rows), hp.test_size, "data.test_size"), hp.seed)
            self.splits["test"] = dataset(train, rows[test])
            rows = rows[keep]
        keep, val = random_holdout(len(rows), holdout_size(len(rows), hp.val_size, "data.val_size"), hp.seed)
        self.splits["train"] = dataset(train, rows[keep])
        self.splits["val"] = dataset(train, rows[val])
        if "predict" in caches:
            self.splits["predict"] = dataset(caches["predict"])
        self.exclude_from_training()
        self.split_files = {name: self._files_of(name, caches) for name in self.splits}
        log.info("%s: %s, classes %s", self.name, {k: len(v) for k, v in self.splits.items()}, self.class_names)

    def _files_of(self, split: str, caches: dict[str, CachedImages]) -> list[str]:
        """The files of ``split``, relative to data.root, in row order (what ``split_record`` digests)."""
        dataset = self.splits[split]
        cache = caches["train" if split in ("train", "val") or ("test" not in caches and split == "test") else split]
        rows = range(len(cache.files)) if dataset.rows is None else dataset.rows.tolist()
        return [str(Path(cache.files[r]).relative_to(self.root)) for r in rows]

    def split_items(self, split: str) -> list[str]:
        return self.split_files[split]


class IntelDataModule(ImageFolderDataModule):
    """Kaggle's "Intel Image Classification" (puneet6060/intel-image-classification) at data.image_size.

    seg_train (~14k, 6 classes) gives train and a seeded validation part, seg_test (~3k) the test split, and
    seg_pred (~7k unlabeled) the predict split. The doubled folders of the Kaggle archive
    (seg_train/seg_train/<class>/) and single ones (seg_train/<class>/) both work.
    """

    CLASSES = ("buildings", "forest", "glacier", "mountain", "sea", "street")

    def __init__(self, root: str, name: str = "intel", **kwargs) -> None:
        super().__init__(root=root, name=name, **kwargs)

    def layout_error(self, problem: str) -> DataNotFoundError:
        r = self.root
        return DataNotFoundError(
            f"intel: {problem}.\nExpected the Kaggle layout under data.root={r}:\n"
            f"  {r}/seg_train/seg_train/<class>/*.jpg   classes {', '.join(self.CLASSES)} (~14k images)\n"
            f"  {r}/seg_test/seg_test/<class>/*.jpg     (~3k images)\n"
            f"  {r}/seg_pred/seg_pred/*.jpg             (optional, ~7k unlabeled)\n"
            "(seg_train/<class>/ without the doubled folder works too). Get the data with:\n"
            f"  kaggle datasets download -d puneet6060/intel-image-classification -p {r}\n"
            f"  unzip {r}/intel-image-classification.zip -d {r}"
        )

    def _split_folder(self, split: str, required: bool) -> Path | None:
        for candidate in (self.root / split / split, self.root / split):
            if candidate.is_dir() and (split == "seg_pred" or class_folders(candidate)):
                return candidate
        if required:
            raise self.layout_error(
                f"{self.root / split} is missing" if self.root.is_dir() else f"data.root {self.root} does not exist"
            )
        return None

    def find_split_folders(self) -> dict[str, Path | None]:
        return {
            "train": self._split_folder("seg_train", required=True),
            "test": self._split_folder("seg_test", required=True),
            "predict": self._split_folder("seg_pred", required=False),
        }
