"""evaluate.py: recompute a checkpoint's test metrics and the PCA comparison; refuse what is not a checkpoint."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from aelab.data.mnist import MNISTDataModule
from aelab.errors import CheckpointError
from aelab.models.autoencoder import AutoEncoder
from aelab.pipeline import evaluate


def test_evaluate_recomputes_metrics_and_writes_them_beside_the_run(make_config, trained_run, tmp_path, capsys):
    run = tmp_path / "copy"
    shutil.copytree(trained_run, run)
    ckpt = run / "checkpoints" / "last.ckpt"
    same_pca = ["pca.max_fit_samples=1000", "pca.probe_train_samples=500"]  # as the training run (FAST)
    no_report = "report.enabled=false"  # the report has its own tests (test_report.py)
    evaluate(make_config(f"ckpt_path={ckpt}", "trainer.accelerator=cpu", *same_pca, no_report, name="evaluate"))
    assert not (run / "report").exists()
    written = json.loads((run / "metrics.json").read_text())
    assert written["ckpt_path"] == str(ckpt)
    # the test error of these weights on the embedded sample's test split, computed here without Lightning
    model = AutoEncoder.load_from_checkpoint(ckpt, map_location="cpu", weights_only=True).eval()
    test_x = load_embedded_test_split()
    with torch.no_grad():
        expected = float(((model(test_x) - test_x) ** 2).mean())
    assert written["test/mse"] == pytest.approx(expected, abs=1e-6)
    # the data came from the checkpoint: the same split, so PCA matches the training run's yardstick
    trained = json.loads((trained_run / "results.json").read_text())
    assert written["pca/test_mse"] == pytest.approx(trained["pca/test_mse"], rel=1e-6)
    assert written["pca/test_mse_clipped"] == pytest.approx(trained["pca/test_mse_clipped"], rel=1e-6)
    assert written["ae_over_pca_test_mse"] == pytest.approx(expected / trained["pca/test_mse_clipped"], rel=1e-4)
    assert f"AE test MSE {written['test/mse']:.5f} | clipped PCA-20" in capsys.readouterr().out


def load_embedded_test_split() -> torch.Tensor:
    """The embedded sample's test images as floats in [0, 1], from the data module the checkpoint names."""
    datamodule = MNISTDataModule(source="sample", download=False)
    datamodule.setup("test")
    return datamodule.splits["test"].take()[0].float() / 255


def test_evaluate_refuses_a_missing_checkpoint(make_config, tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        evaluate(make_config(f"ckpt_path={tmp_path}/missing.ckpt", name="evaluate"))


def test_evaluate_refuses_a_file_that_is_not_a_checkpoint(make_config, tmp_path):
    bogus = tmp_path / "notes.ckpt"
    bogus.write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint archive"):
        evaluate(make_config(f"ckpt_path={bogus}", name="evaluate"))


def test_evaluate_refuses_a_checkpoint_of_something_else(make_config, tmp_path):
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(3)}, "epoch": 1}, foreign)
    with pytest.raises(CheckpointError, match="not a Lightning checkpoint of an aelab model"):
        evaluate(make_config(f"ckpt_path={foreign}", name="evaluate"))
