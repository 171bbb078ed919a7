"""evaluate.py: recompute a checkpoint's test metrics and the PCA comparison; refuse what is not a checkpoint."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from aelab.errors import CheckpointError
from aelab.pipeline import evaluate


def test_evaluate_recomputes_metrics_and_writes_them_beside_the_run(make_config, trained_run, tmp_path, capsys):
    run = tmp_path / "copy"
    shutil.copytree(trained_run, run)
    ckpt = run / "checkpoints" / "last.ckpt"
    same_pca = ["pca.max_fit_samples=1000", "pca.probe_train_samples=500"]  # as the training run (FAST)
    no_report = "report.enabled=false"  # the report has its own tests (test_report.py)
    metrics = evaluate(
        make_config(f"ckpt_path={ckpt}", "trainer.accelerator=cpu", *same_pca, no_report, name="evaluate")
    )
    assert not (run / "report").exists() and "report_path" not in metrics
    written = json.loads((run / "metrics.json").read_text())
    assert written["ckpt_path"] == str(ckpt)
    for key in ("test/mse", "test/psnr", "test/ssim", "pca/test_mse", "pca/probe_test_acc", "ae_over_pca_test_mse"):
        assert written[key] == pytest.approx(metrics[key])
    # the data came from the checkpoint: the same embedded-sample test split, so PCA matches the training run
    trained = json.loads((trained_run / "results.json").read_text())
    assert written["pca/test_mse"] == pytest.approx(trained["pca/test_mse"], rel=1e-3)
    assert "AE test MSE" in capsys.readouterr().out


def test_evaluate_refuses_a_missing_checkpoint(make_config, tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        evaluate(make_config(f"ckpt_path={tmp_path}/missing.ckpt", name="evaluate"))


def test_evaluate_refuses_a_file_that_is_not_a_checkpoint(make_config, tmp_path):
    bogus = tmp_path / "notes.ckpt"
    bogus.write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot be read as a checkpoint"):
        evaluate(make_config(f"ckpt_path={bogus}", name="evaluate"))


def test_evaluate_refuses_a_checkpoint_of_something_else(make_config, tmp_path):
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(3)}, "epoch": 1}, foreign)
    with pytest.raises(CheckpointError, match="not a Lightning checkpoint of an aelab model"):
        evaluate(make_config(f"ckpt_path={foreign}", name="evaluate"))
