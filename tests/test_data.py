"""MNIST / Fashion-MNIST data module: layouts, fallback, splits, batch format, and bad input."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch

from aelab.data.idx import read_idx, write_idx
from aelab.data.mnist import MNISTDataModule, load_embedded_sample
from aelab.data.tensor_data import ImageTensorDataset, batch_loader
from aelab.errors import DataNotFoundError


def test_embedded_sample_is_real_mnist():
    images, labels = load_embedded_sample()
    assert images.shape == (5000, 1, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [500] * 10
    assert images.max() == 255 and images.min() == 0


def test_sample_fallback_warns_once_and_splits_stratified(tmp_path):
    dm = MNISTDataModule(data_dir=str(tmp_path), source="auto", download=False, val_size=0.1, seed=0)
    with pytest.warns(UserWarning, match="embedded 5,000-digit sample") as record:
        dm.prepare_data()
        dm.setup("fit")
        dm.setup("test")
    assert len([w for w in record if "embedded" in str(w.message)]) == 1
    assert "data.download=true" in str(record[0].message)
    assert dm.resolved_source == "sample"
    sizes = {k: len(v) for k, v in dm.splits.items()}
    assert sizes == {"train": 3600, "val": 400, "test": 1000}
    assert torch.bincount(dm.splits["test"].labels).tolist() == [100] * 10


def test_sample_splits_are_fixed_by_seed_and_disjoint(tmp_path):
    def splits(seed):
        dm = MNISTDataModule(data_dir=str(tmp_path), source="sample", seed=seed)
        dm.setup()
        return dm.splits

    a, b, c = splits(0), splits(0), splits(1)
    assert torch.equal(a["val"].images, b["val"].images) and torch.equal(a["test"].images, b["test"].images)
    assert not torch.equal(a["val"].images, c["val"].images)
    # no image of the test split appears in train (they are different digits of the sample)
    train_rows = {bytes(r) for r in a["train"].images.flatten(1).numpy()}
    assert not any(bytes(r) in train_rows for r in a["test"].images.flatten(1).numpy()[:200])


@pytest.mark.parametrize("layout", ["flat_idx_dir", "torchvision_idx_dir"])
def test_reads_idx_files_in_both_layouts(layout, request):
    data_dir = request.getfixturevalue(layout)
    dm = MNISTDataModule(data_dir=str(data_dir), source="full", val_size=100, seed=0)
    dm.prepare_data()
    dm.setup("fit")
    assert dm.resolved_source == "full"
    assert {k: len(v) for k, v in dm.splits.items()} == {"train": 500, "val": 100, "test": 200}


def test_fashion_mnist_reads_a_flat_folder(flat_idx_dir):
    dm = MNISTDataModule(name="fashion_mnist", data_dir=str(flat_idx_dir), source="full")
    dm.setup()
    assert dm.class_names[0] == "T-shirt/top" and len(dm.splits["test"]) == 200


def test_batches_are_uint8_gathered_whole(flat_idx_dir):
    dm = MNISTDataModule(data_dir=str(flat_idx_dir), source="full", batch_size=32)
    dm.setup()
    x, y = next(iter(dm.train_dataloader()))
    assert x.dtype == torch.uint8 and x.shape == (32, 1, 28, 28)
    assert y.dtype == torch.int64 and y.shape == (32,)
    val = list(dm.val_dataloader())
    assert sum(len(b[0]) for b in val) == len(dm.splits["val"])


def test_loader_shuffles_and_covers_every_item():
    images = torch.arange(50, dtype=torch.uint8).view(50, 1, 1, 1)
    loader = batch_loader(ImageTensorDataset(images, torch.arange(50)), batch_size=8, shuffle=True)
    seen = torch.cat([y for _, y in loader])
    assert sorted(seen.tolist()) == list(range(50)) and seen.tolist() != list(range(50))


def test_model_scales_batches_to_float_on_device(make_config):
    from aelab.build import build

    model = build(make_config().model)
    x, _ = model.on_after_batch_transfer((torch.full((2, 1, 28, 28), 255, dtype=torch.uint8), torch.zeros(2)), 0)
    assert x.dtype == torch.float32 and float(x.max()) == 1.0


def test_idx_roundtrip_and_truncated_file(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a-idx3-ubyte.gz", array)
    assert np.array_equal(read_idx(tmp_path / "a-idx3-ubyte.gz"), array)
    raw = gzip.decompress((tmp_path / "a-idx3-ubyte.gz").read_bytes())
    (tmp_path / "b-idx3-ubyte").write_bytes(raw[:-5])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(tmp_path / "b-idx3-ubyte")


def test_source_full_without_files_says_how_to_get_them(tmp_path):
    dm = MNISTDataModule(data_dir=str(tmp_path / "empty"), source="full", download=False)
    with pytest.raises(DataNotFoundError, match="data.download=true") as err:
        dm.setup()
    assert "train-images-idx3-ubyte.gz" in str(err.value)


def test_fashion_mnist_has_no_sample_and_names_the_debian_package(tmp_path):
    dm = MNISTDataModule(name="fashion_mnist", data_dir=str(tmp_path), source="auto", download=False)
    with pytest.raises(DataNotFoundError, match="dataset-fashion-mnist"):
        dm.setup()
    with pytest.raises(ValueError, match="only MNIST has an embedded sample"):
        MNISTDataModule(name="fashion_mnist", source="sample")


def test_bad_options_are_named(tmp_path):
    with pytest.raises(ValueError, match="data.source must be one of"):
        MNISTDataModule(source="everything")
    with pytest.raises(ValueError, match="data.shape is"):
        MNISTDataModule(shape=[3, 128, 128])


@pytest.mark.skipif(
    not (__import__("pathlib").Path("/usr/share/datasets/fashion-mnist").is_dir()),
    reason="Debian's dataset-fashion-mnist is not installed",
)
def test_debian_fashion_mnist_package_is_the_official_split():
    dm = MNISTDataModule(name="fashion_mnist", data_dir="/usr/share/datasets/fashion-mnist", source="full")
    dm.setup()
    assert len(dm.splits["train"]) + len(dm.splits["val"]) == 60000 and len(dm.splits["test"]) == 10000
