"""The latent space as a table at the end of training (issue 13, item 5), and the README's image-folder example."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import aelab
from aelab.data.mnist import MNISTDataModule
from aelab.data.splits import seeded_subset
from aelab.data.synthetic import write_split
from aelab.pipeline import train


def test_test_codes_go_to_a_csv_and_to_a_wandb_table(make_config):
    cfg = make_config("data.source=sample", "logger=wandb", "callbacks.code_table.num_images=20")
    train(cfg)
    run = Path(cfg.paths.output_dir)
    table = pd.read_csv(run / "test_codes.csv")
    assert len(table) == 20 and list(table.columns[:3]) == ["index", "label", "mse"]
    # the codes are the tested (best) checkpoint's codes of those test images
    best = next(p for p in (run / "checkpoints").glob("epoch*.ckpt"))
    datamodule = MNISTDataModule(source="sample", download=False)
    datamodule.setup("test")
    images, labels = datamodule.splits["test"].take(seeded_subset(len(datamodule.splits["test"]), 20, 0))
    codes = aelab.load(best, device="cpu").transform(images.numpy())
    np.testing.assert_allclose(table[[f"z{i}" for i in range(20)]].to_numpy(), codes, atol=1e-5)
    assert list(table["label"].astype(str)) == [str(datamodule.class_names[y]) for y in labels.tolist()]
    tables = list(run.glob("wandb/offline-run-*/files/media/table/test/codes_*.table.json"))
    assert len(tables) == 1
    logged = json.loads(tables[0].read_text())
    assert logged["columns"][:4] == ["image", "index", "label", "mse"] and len(logged["data"]) == 20


@pytest.mark.parametrize("size", [64])
def test_the_readme_image_folder_example_runs_as_written(make_config, tmp_path, size):
    write_split(tmp_path / "my_photos", 6, np.random.default_rng(0), classes=("a", "b"))
    # python train.py model=conv_deep data=image_folder data.root=$HOME/my_photos data.image_size=64
    cfg = make_config("model=conv_deep", "data=image_folder", f"data.root={tmp_path / 'my_photos'}",
                      f"data.image_size={size}", "data.batch_size=4", "trainer.limit_train_batches=1")  # fmt: skip
    metrics = train(cfg)
    assert metrics["pca/k"] <= 1024 and metrics["test/mse"] > 0
