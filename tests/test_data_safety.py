"""Data mistakes become messages, and evaluate.py notices data that changed since training (issue 12, items 6, 9)."""

from __future__ import annotations

import gzip
import json
import os
import re
import shlex
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from aelab.baselines.pca import ae_vs_pca_line, compare_with_pca
from aelab.data.folders import ImageFolderDataModule
from aelab.data.idx import read_idx
from aelab.data.synthetic import write_split
from aelab.errors import DataChangedError, NotWritableError
from aelab.pipeline import evaluate, train
from aelab.pipeline.evaluation import output_folders
from tests.conftest import ROOT, write_idx_set

SMALL = [
    "model=dense",
    "data=image_folder",
    "data.image_size=16",
    "data.batch_size=8",
    "data.val_size=2",
    "callbacks.reconstructions=null",
    "callbacks.latent_averages=null",
    "trainer.max_epochs=1",
]


def photo_tree(root: Path, per_class: int = 8, classes=("a", "b")) -> Path:
    write_split(root, per_class, np.random.default_rng(0), classes=classes)
    return root


@pytest.fixture
def folder_run(make_config, tmp_path):
    """A checkpoint trained on a folder of 16 real images; returns (photos folder, checkpoint)."""
    photos = photo_tree(tmp_path / "photos")
    cfg = make_config(*SMALL, f"data.root={photos}")
    train(cfg)
    return photos, Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"


def evaluate_config(make_config, ckpt: Path, *extra: str):
    return make_config(
        f"ckpt_path={ckpt}",
        "report.enabled=false",
        "trainer.accelerator=cpu",
        "pca.max_fit_samples=1000",
        *extra,
        name="evaluate",
    )


def test_evaluate_refuses_an_image_folder_that_changed_since_training(make_config, folder_run):
    photos, ckpt = folder_run
    write_split(photos, 12, np.random.default_rng(1), classes=("a", "b"))  # more images: the seeded split moves
    with pytest.raises(DataChangedError, match=r"test: 3 images at training, \d+ now.*allow_changed_data=true"):
        evaluate(evaluate_config(make_config, ckpt))
    metrics = evaluate(evaluate_config(make_config, ckpt, "allow_changed_data=true"))
    assert metrics["test/mse"] > 0


def test_evaluate_after_the_data_folder_moved_takes_data_root(make_config, folder_run, tmp_path):
    photos, ckpt = folder_run
    moved = tmp_path / "elsewhere" / "photos"
    shutil.move(photos, moved)
    with pytest.raises(FileNotFoundError, match="data.root"):
        evaluate(evaluate_config(make_config, ckpt))
    metrics = evaluate(evaluate_config(make_config, ckpt, f"data.root={moved}"))  # the same files: no change found
    assert metrics["test/mse"] > 0


def test_evaluate_writes_its_own_folder_when_the_run_folder_cannot_be_written(make_config, trained_run, tmp_path):
    run_dir = tmp_path / "copy"
    shutil.copytree(trained_run, run_dir)
    (run_dir / "metrics.json").unlink(missing_ok=True)  # an evaluation of the shared run by another test wrote it
    (run_dir / "metrics.json").mkdir()  # stands in for a read-only folder (chmod does not stop root)
    evaluate(evaluate_config(make_config, run_dir / "checkpoints" / "last.ckpt", "pca.probe_train_samples=500"))
    written = json.loads((tmp_path / "run" / "metrics.json").read_text())  # this evaluation's own folder
    assert written["test/mse"] > 0


def test_the_report_goes_to_the_evaluation_folder_when_the_run_folder_is_blocked(make_config, trained_run, tmp_path):
    run_dir = tmp_path / "copy"
    shutil.copytree(trained_run, run_dir)
    (run_dir / "report").write_text("a file where the report folder would go")
    cfg = make_config(f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}", name="evaluate")
    report_dir, metric_dirs = output_folders(cfg, with_report=True)
    assert report_dir == tmp_path / "run" / "report"
    assert metric_dirs[0] == run_dir


def test_val_size_that_is_neither_fraction_nor_count_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"data.val_size=1.5: a split size is a fraction"):
        ImageFolderDataModule(root=str(tmp_path), val_size=1.5)
    with pytest.raises(ValueError, match="data.test_size"):
        ImageFolderDataModule(root=str(tmp_path), test_size=0)
    with pytest.raises(ValueError, match="together hold out all the images"):
        ImageFolderDataModule(root=str(tmp_path), val_size=0.5, test_size=0.5)


def test_a_folder_of_one_image_names_the_setting(tmp_path):
    photo_tree(tmp_path / "one", per_class=1, classes=("only",))
    datamodule = ImageFolderDataModule(root=str(tmp_path / "one"), image_size=16, cache_dir=str(tmp_path / "c"))
    datamodule.prepare_data()
    with pytest.raises(ValueError, match=r"data.test_size=0.2 holds out 0 of the 1 images.*Add images"):
        datamodule.setup("fit")


def test_an_empty_class_folder_is_warned_about(tmp_path):
    photos = photo_tree(tmp_path / "photos")
    (photos / "c_empty").mkdir()
    datamodule = ImageFolderDataModule(root=str(photos), image_size=16, cache_dir=str(tmp_path / "c"))
    with pytest.warns(UserWarning, match=r"class folders \['c_empty'\].*hold no files"):
        datamodule.prepare_data()


def test_an_unwritable_cache_dir_is_named(tmp_path):
    photos = photo_tree(tmp_path / "photos")
    blocked = tmp_path / "not_a_folder"
    blocked.write_text("a file, so nothing can be created below it")  # fails for root too, unlike chmod
    datamodule = ImageFolderDataModule(root=str(photos), image_size=16, cache_dir=str(blocked / "cache"))
    with pytest.raises(NotWritableError, match=r"cannot write the decoded-image cache.*Set data.cache_dir"):
        datamodule.prepare_data()


def test_tilde_in_data_root_is_the_home_folder(make_config, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    photo_tree(tmp_path / "my_photos")
    cfg = make_config(*SMALL, "data.root='~/my_photos'")  # quoted, as the README shows it
    datamodule = ImageFolderDataModule(**{k: v for k, v in cfg.data.items() if k != "_target_"})
    assert datamodule.root == tmp_path / "my_photos"
    datamodule.prepare_data()
    datamodule.setup("fit")
    assert len(datamodule.splits["train"]) > 0


def test_a_truncated_gz_idx_file_says_so(tmp_path):
    folder = write_idx_set(tmp_path / "idx")
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(ValueError, match="truncated or corrupt.*download"):
        read_idx(path)
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x05ab"))  # a whole .gz of a short IDX file
    with pytest.raises(ValueError, match="truncated"):
        read_idx(path)


def test_constant_images_give_a_ratio_not_a_zero_division():
    metrics = {
        "test/mse": 0.01,
        "pca/test_mse": 0.0,
        "pca/test_mse_clipped": 0.0,
        "pca/k": 4.0,
        "pca/test_psnr": float("inf"),
        "pca/test_psnr_clipped": float("inf"),
        "pca/test_ssim": 1.0,
        "pca/test_ssim_clipped": 1.0,
    }
    metrics |= compare_with_pca(metrics, output_in_unit_range=True)
    assert metrics["ae_over_pca_test_mse"] == float("inf")
    assert "reconstructs these test images exactly" in ae_vs_pca_line(metrics)


def test_constant_images_train_and_report(make_config, tmp_path):
    photos = tmp_path / "flat"
    for name in ("a", "b"):
        (photos / name).mkdir(parents=True)
        for i in range(8):
            cv2.imwrite(str(photos / name / f"{i}.png"), np.full((20, 20, 3), 128, np.uint8))
    metrics = train(make_config(*SMALL, f"data.root={photos}"))
    assert metrics["pca/test_mse_clipped"] == pytest.approx(0.0, abs=1e-9)
    assert np.isfinite(metrics["test/mse"])


def test_a_code_larger_than_the_image_is_refused_before_training(make_config, tmp_path):
    cfg = make_config("data.source=sample", "model.latent_dim=100000")
    with pytest.raises(ValueError, match=r"model.latent_dim=100000 is more than the 784 values"):
        train(cfg)
    assert not (Path(cfg.paths.output_dir) / "checkpoints").exists()


def test_split_records_differ_when_the_files_differ(tmp_path):
    first = ImageFolderDataModule(root=str(photo_tree(tmp_path / "p")), image_size=16, cache_dir=str(tmp_path / "c"))
    first.prepare_data()
    first.setup()
    (tmp_path / "p" / "a" / "0.jpg").rename(tmp_path / "p" / "a" / "renamed.jpg")
    second = ImageFolderDataModule(root=str(tmp_path / "p"), image_size=16, cache_dir=str(tmp_path / "c"))
    second.prepare_data()
    second.setup()
    assert first.split_record()["train"]["count"] == second.split_record()["train"]["count"]
    assert first.split_record() != second.split_record()


def test_the_readme_command_lines_parse_as_hydra_overrides(monkeypatch):
    """The README's own examples, after the shell has expanded them (data.root=~/... used to be a lexer error)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    monkeypatch.setenv("HOME", "/home/user")
    parser = OverridesParser.create()
    readme = (ROOT / "README.md").read_text().splitlines()
    lines = [
        ln.split("  #")[0].strip() for ln in readme if ln.strip().startswith(("python train.py", "python evaluate"))
    ]
    assert any("data.root=$HOME/my_photos" in ln for ln in lines)
    for line in lines:
        if line.endswith("\\"):
            continue  # a command continued on the next line
        args = [os.path.expandvars(a) for a in shlex.split(re.sub(r"<[a-z_ ]+>", "x", line))[2:]]
        parser.parse_overrides([a for a in args if "=" in a and not a.startswith("-")])
