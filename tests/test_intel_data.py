"""Intel / ImageFolder data modules on real image files: layouts, conversions, the cache, and bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from aelab.data.decode import decode_image
from aelab.data.folders import ImageFolderDataModule, IntelDataModule
from aelab.data.image_cache import load_or_build
from aelab.data.synthetic import CLASSES, make_intel_tree, write_split
from aelab.errors import DataNotFoundError

PER_CLASS, TEST_PER_CLASS = 6, 3
TRAIN_FILES = 6 * (PER_CLASS + 3)  # jpgs + gray/rgba/16-bit pngs per class; the 3 broken files are skipped


@pytest.mark.parametrize("doubled", [True, False], ids=["kaggle-doubled", "single"])
def test_intel_layouts_give_train_val_test_predict(tmp_path, doubled):
    root = make_intel_tree(tmp_path / "intel", PER_CLASS, TEST_PER_CLASS, doubled=doubled)
    dm = IntelDataModule(root=str(root), image_size=32, cache_dir=str(tmp_path / "cache"), val_size=6)
    with pytest.warns(UserWarning, match="skipped 3 of") as record:
        dm.prepare_data()
        dm.setup("fit")
    assert len([w for w in record if "skipped" in str(w.message)]) == 1
    assert dm.class_names == list(CLASSES)
    sizes = {k: len(v) for k, v in dm.splits.items()}
    assert sizes == {"train": TRAIN_FILES - 6, "val": 6, "test": 6 * TEST_PER_CLASS, "predict": 5}
    x, y = next(iter(dm.train_dataloader()))
    assert x.dtype == torch.uint8 and x.shape[1:] == (3, 32, 32) and y.dtype == torch.int64
    assert dm.shape == (3, 32, 32)
    assert set(dm.splits["test"].labels.tolist()) == set(range(6))
    assert (dm.splits["predict"].labels == -1).all()


def test_awkward_files_become_8bit_rgb_of_the_right_size(tmp_path):
    root = make_intel_tree(tmp_path / "intel", 3, 1)
    folder = root / "seg_train" / "seg_train" / "forest"
    for name in ("gray.png", "rgba.png", "deep16.png", "0.jpg"):  # 0.jpg is 113x150, not square
        image = decode_image(folder / name, 64)
        assert image is not None and image.dtype == np.uint8 and image.shape == (3, 64, 64), name
    gray = decode_image(folder / "gray.png", 64)
    assert np.array_equal(gray[0], gray[1])  # grayscale replicated to three channels
    deep = decode_image(folder / "deep16.png", 64).astype(int)
    assert 20 < deep.mean() < 235  # 16-bit scaled down to 8-bit, not clipped to white
    for name in ("empty.jpg", "truncated.jpg", "notes.txt"):
        assert decode_image(folder / name, 64) is None


def test_center_crop_differs_from_stretch_on_non_square_images(tmp_path):
    root = make_intel_tree(tmp_path / "intel", 3, 1)
    path = root / "seg_train" / "seg_train" / "sea" / "0.jpg"  # 113x150
    assert not np.array_equal(decode_image(path, 32, "stretch"), decode_image(path, 32, "center_crop"))


def test_cache_is_reused_then_rebuilt_when_inputs_change(tmp_path):
    root = make_intel_tree(tmp_path / "intel", 3, 1)
    cache_dir = tmp_path / "cache"

    def setup(size: int) -> IntelDataModule:
        dm = IntelDataModule(root=str(root), image_size=size, cache_dir=str(cache_dir))
        with pytest.warns(UserWarning):
            dm.setup()
        return dm

    first = setup(32)
    path = first.caches["train"].path
    mtime = path.stat().st_mtime_ns
    again = setup(32)
    assert again.caches["train"].path == path and path.stat().st_mtime_ns == mtime  # read, not rebuilt
    assert torch.equal(first.splits["train"].images, again.splits["train"].images)
    assert setup(48).caches["train"].path != path  # another size, another cache
    new_file = root / "seg_train" / "seg_train" / "sea" / "new.jpg"
    new_file.write_bytes((root / "seg_train" / "seg_train" / "sea" / "1.jpg").read_bytes())
    rebuilt = setup(32)
    assert rebuilt.caches["train"].path != path
    assert len(rebuilt.caches["train"].labels) == len(first.caches["train"].labels) + 1


def test_killed_cache_build_leaves_nothing_that_looks_like_a_cache(tmp_path):
    folder = tmp_path / "many"
    write_split(folder, 150, np.random.default_rng(1), classes=("a", "b"))
    files = sorted(folder.rglob("*.jpg"))
    cache_dir = tmp_path / "cache"
    script = (
        "import sys; from pathlib import Path; from aelab.data.image_cache import load_or_build\n"
        "files = sorted(Path(sys.argv[1]).rglob('*.jpg'))\n"
        "load_or_build('k', files, [0] * len(files), Path(sys.argv[2]), 96, workers=1)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(folder), str(cache_dir)])
    deadline = time.time() + 60
    while time.time() < deadline and not list(cache_dir.glob(".*.tmp")):
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert list(cache_dir.glob(".*.tmp")), "the build was not caught in progress"
    assert not list(cache_dir.glob("*.npy")) and not list(cache_dir.glob("*.json"))
    cache = load_or_build("k", files, [0] * len(files), cache_dir, 96)  # a fresh build succeeds
    assert cache.images.shape == (300, 3, 96, 96)
    assert not list(cache_dir.glob(".*.tmp")), "the killed build's temporary files outlive the next build"
    assert json.loads(cache.path.with_suffix(".json").read_text())["skipped"] == []


def test_missing_root_shows_the_expected_tree_and_the_kaggle_command(tmp_path):
    dm = IntelDataModule(root=str(tmp_path / "nowhere"), cache_dir=str(tmp_path / "cache"))
    with pytest.raises(DataNotFoundError) as err:
        dm.setup()
    message = str(err.value)
    assert "seg_train/seg_train/<class>/*.jpg" in message
    assert "kaggle datasets download -d puneet6060/intel-image-classification" in message and "unzip" in message


def test_wrong_layout_is_named(tmp_path):
    (tmp_path / "intel" / "seg_train" / "seg_train" / "sea").mkdir(parents=True)  # no seg_test
    with pytest.raises(DataNotFoundError, match="seg_test is missing"):
        IntelDataModule(root=str(tmp_path / "intel"), cache_dir=str(tmp_path / "c")).setup()


def test_image_folder_carves_a_test_split(tmp_path):
    write_split(tmp_path / "mine", 10, np.random.default_rng(0), classes=("cats", "dogs"))
    dm = ImageFolderDataModule(
        root=str(tmp_path / "mine"), image_size=32, cache_dir=str(tmp_path / "c"), test_size=0.2, val_size=2
    )
    dm.setup()
    assert dm.class_names == ["cats", "dogs"]
    assert {k: len(v) for k, v in dm.splits.items()} == {"test": 4, "train": 14, "val": 2}


def test_image_folder_uses_train_and_test_folders(tmp_path):
    rng = np.random.default_rng(0)
    write_split(tmp_path / "mine" / "train", 5, rng, classes=("a", "b"))
    write_split(tmp_path / "mine" / "test", 2, rng, classes=("a", "b"))
    dm = ImageFolderDataModule(root=str(tmp_path / "mine"), image_size=16, cache_dir=str(tmp_path / "c"), val_size=2)
    dm.setup()
    assert {k: len(v) for k, v in dm.splits.items()} == {"test": 4, "train": 8, "val": 2}


def test_image_folder_without_class_folders_is_explained(tmp_path):
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "x.jpg").write_bytes(b"")
    with pytest.raises(DataNotFoundError, match="has no class folders"):
        ImageFolderDataModule(root=str(tmp_path / "flat"), cache_dir=str(tmp_path / "c")).setup()


def test_bad_decode_options_are_named(tmp_path):
    with pytest.raises(ValueError, match="data.resize must be one of"):
        IntelDataModule(root=str(tmp_path), resize="squash")
    with pytest.raises(ValueError, match="data.interpolation must be one of"):
        IntelDataModule(root=str(tmp_path), interpolation="lanczos9")


def test_cache_files_hold_the_listing(tmp_path):
    root = make_intel_tree(tmp_path / "intel", 2, 1)
    dm = IntelDataModule(root=str(root), image_size=16, cache_dir=str(tmp_path / "c"))
    with pytest.warns(UserWarning):
        dm.setup()
    meta = json.loads(dm.caches["train"].path.with_suffix(".json").read_text())
    assert len(meta["files"]) == len(meta["labels"]) == len(dm.caches["train"].images)
    assert {Path(p).name for p in meta["skipped"]} == {"empty.jpg", "truncated.jpg", "notes.txt"}
