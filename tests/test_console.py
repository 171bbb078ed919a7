"""What a run prints: library noise off unless verbose, and last lines that say who won, by how much, and where."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

from aelab.pipeline.console import quiet_console, summary_lines

METRICS = {
    "test/mse": 0.0150,
    "pca/test_mse_yardstick": 0.0200,
    "pca/yardstick_clipped": 1.0,
    "pca/k": 20.0,
    "probe/test_acc": 0.890,
    "pca/probe_test_acc": 0.870,
}


def test_quiet_console_holds_back_library_info_and_deprecations_then_restores_everything():
    lightning = logging.getLogger("pytorch_lightning")
    level, silent = lightning.level, os.environ.get("WANDB_SILENT")
    with quiet_console(verbose=False):
        assert not lightning.isEnabledFor(logging.INFO) and lightning.isEnabledFor(logging.WARNING)
        assert os.environ["WANDB_SILENT"] == "true"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default", UserWarning)  # what pytest's own filters would otherwise decide
            warnings.warn("old API", DeprecationWarning, stacklevel=1)
            warnings.warn("this folder has 3 images", UserWarning, stacklevel=1)
        assert [str(w.message) for w in caught] == ["this folder has 3 images"]
    assert lightning.level == level and os.environ.get("WANDB_SILENT") == silent
    with quiet_console(verbose=True):
        assert lightning.level == level  # verbose leaves the libraries as they are


def test_last_lines_name_the_winner_the_margin_and_where_things_are(tmp_path):
    lines = summary_lines(METRICS, "conv_strided", tmp_path, str(tmp_path / "checkpoints" / "epoch009.ckpt"))
    assert lines[0] == (
        "AE test MSE 0.01500 | clipped PCA-20 test MSE 0.02000 | AE/PCA ratio 0.750 | probe accuracy AE 0.890, PCA 0.870"
    )
    assert lines[1] == "The AE (conv_strided) wins: 25% lower test MSE than clipped PCA-20, probe accuracy +2.0 points."
    assert lines[2].startswith(f"Run folder: {tmp_path} (") and "panels/" in lines[2]
    assert lines[3].endswith(f"ckpt_path={Path(tmp_path) / 'checkpoints' / 'epoch009.ckpt'}")


def test_a_run_behind_pca_says_so_and_what_to_try(tmp_path):
    behind = {**METRICS, "test/mse": 0.0300, "probe/test_acc": 0.850}
    verdict = summary_lines(behind, "dense", tmp_path, "x.ckpt")[1]
    assert verdict.startswith(
        "clipped PCA-20 is ahead of the AE (dense): 1.50x its test MSE, probe accuracy -2.0 points"
    )
    assert "trainer.max_epochs" in verdict and "Small data" in verdict
    lower_probe = {**METRICS, "probe/test_acc": 0.860}  # a lower MSE but a worse probe is not a win
    assert "is ahead" in summary_lines(lower_probe, "dense", tmp_path, "x.ckpt")[1]
