"""Sweeps: a model x code-size multirun with one W&B run per job, its AE-vs-PCA summary, and the Optuna sweeper."""

from __future__ import annotations

import csv
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aelab.summarize import summarize
from tests.conftest import ROOT, fast_overrides


def multirun(tmp_path: Path, *overrides: str) -> Path:
    sweep_dir = tmp_path / "multirun"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "train.py"),
            "-m",
            *fast_overrides(overrides),
            "data.source=sample",
            f"paths.root_dir={tmp_path}",
            f"hydra.sweep.dir={sweep_dir}",
            "paths.output_dir=${hydra:runtime.output_dir}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return sweep_dir


def test_latent_dims_sweep_runs_each_job_in_its_own_wandb_run_and_summarizes(tmp_path):
    sweep_dir = multirun(tmp_path, "sweep=latent_dims", "model=dense,linear", "model.latent_dim=2,8", "logger=wandb")
    jobs = sorted(p.parent for p in sweep_dir.glob("*/results.json"))
    assert len(jobs) == 4
    wandb_runs = [run for job in jobs for run in job.glob("wandb/offline-run-*")]
    assert len(wandb_runs) == 4  # wandb.finish() between jobs: every job recorded, none merged into the first

    paths = summarize(sweep_dir)
    rows = list(csv.DictReader(paths["csv"].open()))
    assert sorted((r["model"], int(r["k"])) for r in rows) == [(m, k) for m in ("dense", "linear") for k in (2, 8)]
    # every summary value is the job's own results.json value, and the yardstick follows the model's output
    for r in rows:
        m = json.loads((sweep_dir / r["job"] / "results.json").read_text())
        assert float(r["ae_test_mse"]) == pytest.approx(m["test/mse"], rel=1e-12)
        assert float(r["pca_test_mse"]) == pytest.approx(m["pca/test_mse"], rel=1e-12)
        assert float(r["pca_clipped_test_mse"]) == pytest.approx(m["pca/test_mse_clipped"], rel=1e-12)
        assert float(r["ae_over_pca"]) == pytest.approx(m["ae_over_pca_test_mse"], rel=1e-12)
        assert float(r["ae_probe_acc"]) == pytest.approx(m["probe/test_acc"], rel=1e-12)
        assert r["yardstick"] == ("classic" if r["model"] == "linear" else "clipped")
    table = paths["md"].read_text()
    assert "AE test MSE" in table and "PCA test MSE" in table and table.count("| linear |") == 2
    assert paths["png"].stat().st_size > 10_000
    pca_by_k = {}
    for r in rows:  # PCA depends only on k and the data: both models' jobs measured the same yardstick
        pca_by_k.setdefault(r["k"], set()).add(round(float(r["pca_test_mse"]), 6))
    assert all(len(v) == 1 for v in pca_by_k.values())


def test_summarize_says_what_to_pass_when_nothing_finished(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="finished multirun"):
        summarize(tmp_path / "empty")


@pytest.mark.skipif(importlib.util.find_spec("hydra_plugins.hydra_optuna_sweeper") is None, reason="optuna extra")
def test_optuna_sweeper_minimises_the_validation_mse(tmp_path):
    sweep_dir = multirun(
        tmp_path, "sweep=optuna_lr_width", "hydra.sweeper.n_trials=2", "hydra.sweeper.sampler.n_startup_trials=2"
    )
    best = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert best["name"] == "optuna" and 0 < best["best_value"] < 1
    assert set(best["best_params"]) == {"model.optimizer.lr", "model.encoder.hidden_dims"}
