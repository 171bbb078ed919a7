"""What a run prints: library noise off unless verbose, and last lines that say who won, by how much, and where."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import pytest

from aelab.pipeline.console import quiet_console, selection_line, summary_lines

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
    assert lines[1] == (
        "The AE (conv_strided) is ahead: 25% lower test MSE than clipped PCA-20; probe accuracy 2.0 points higher for "
        "the AE."
    )
    assert lines[2].startswith(f"Run folder: {tmp_path} (") and "panels/" in lines[2]
    assert lines[3].endswith(f"ckpt_path={Path(tmp_path) / 'checkpoints' / 'epoch009.ckpt'}")


def test_a_run_behind_pca_says_so_gives_the_probe_gap_to_the_side_it_favours_and_what_to_try(tmp_path):
    behind = {**METRICS, "test/mse": 0.0300, "probe/test_acc": 0.970}  # worse reconstructions, a better probe
    verdict = summary_lines(behind, "dense", tmp_path, "x.ckpt")[1]
    assert verdict.startswith(
        "clipped PCA-20 is ahead of the AE (dense): the AE's test MSE is 1.50x PCA's; probe accuracy 10.0 points "
        "higher for the AE. Try more epochs (trainer.max_epochs), a conv net (model=conv_strided), starting at PCA "
        "(model.anchor=pca)"
    )
    lower_probe = {**METRICS, "probe/test_acc": 0.860}  # a lower MSE and a worse probe: both said as they are
    assert summary_lines(lower_probe, "dense", tmp_path, "x.ckpt")[1].endswith("1.0 points lower for the AE.")


def test_hints_name_the_reducers_parameters_and_leave_out_what_the_run_already_does(tmp_path):
    behind = {**METRICS, "test/mse": 0.0300, "selection/pca_start": 0.0, "selection/best_over_start": 0.99}
    verdict = summary_lines(behind, "conv_strided", tmp_path, "x.ckpt", interface="reducer")[1]
    assert "more epochs (max_epochs)" in verdict and "trainer.max_epochs" not in verdict
    assert "a conv net" not in verdict and "starting at PCA" not in verdict  # already a conv net, already anchored
    dense = summary_lines({**METRICS, "test/mse": 0.03}, "dense", tmp_path, "x.ckpt", interface="reducer")[1]
    assert 'a conv net (model="conv_strided")' in dense and 'overrides=["model.anchor=pca"]' in dense


def test_a_run_level_with_pca_is_called_level_not_a_win(tmp_path):
    level = {**METRICS, "test/mse": 0.01996, "probe/test_acc": 0.870}
    assert summary_lines(level, "conv_strided", tmp_path, "x.ckpt")[1] == (
        "The AE (conv_strided) is level with clipped PCA-20: test MSE within 0.5% (0.998x); probe accuracy equal."
    )


@pytest.mark.parametrize(("ae", "says"), [(0.049, "(clipped PCA-20 has the lower error)"),
                                          (0.010, "(the AE has the lower error)"), (0.02001, "(level:")])  # fmt: skip
def test_evaluates_ratio_line_says_who_has_the_lower_error(ae, says):
    from aelab.baselines.pca import ae_vs_pca_line

    assert says in ae_vs_pca_line({**METRICS, "test/mse": ae})


def test_a_table_run_behind_pca_is_not_told_to_try_conv_nets_or_augmentation(tmp_path):
    behind = {**METRICS, "test/mse": 0.0300, "pca/yardstick_clipped": 0.0}
    lines = summary_lines(behind, "dense", tmp_path, "x.ckpt", interface="reducer", images=False)
    assert lines[1].startswith("PCA-20 is ahead of the AE (dense)")
    assert 'a deeper net (model="deep_dense")' in lines[1] and "conv" not in lines[1] and "augmentation" not in lines[1]
    assert "panels/" not in lines[2]
    deep = summary_lines(behind, "deep_dense", tmp_path, "x.ckpt", images=False)[1]
    assert "a deeper net" not in deep and "starting at PCA (model.anchor=pca)" in deep
    assert "PCA-20 itself" in selection_line({**behind, "selection/pca_start": 1.0}, "pca_start")
