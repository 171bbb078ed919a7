"""The two entry points as a user runs them: real processes, real Hydra output folders."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": "offline"}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_train_then_evaluate_from_the_command_line(tmp_path):
    train = run(
        [
            str(ROOT / "train.py"),
            f"paths.root_dir={tmp_path}",
            "data.download=false",
            "trainer.max_epochs=1",
            "trainer.limit_train_batches=4",
            "callbacks.pca_baseline.max_fit_samples=1000",
        ],
        cwd=tmp_path,
    )
    assert train.returncode == 0, train.stderr[-3000:]
    assert "AE test MSE" in train.stdout and "PCA-20 test MSE" in train.stdout
    assert "embedded 5,000-digit sample" in train.stderr
    ckpt = next((tmp_path / "outputs" / "train" / "runs").glob("*/checkpoints/last.ckpt"))
    assert list(ckpt.parents[1].glob("wandb/offline-run-*")), "default logger is W&B, offline without a login"

    evaluation = run([str(ROOT / "evaluate.py"), f"paths.root_dir={tmp_path}", f"ckpt_path={ckpt}"], cwd=tmp_path)
    assert evaluation.returncode == 0, evaluation.stderr[-3000:]
    assert (ckpt.parents[1] / "metrics.json").is_file()


def test_bad_input_exits_with_the_message_not_a_traceback_wall(tmp_path):
    result = run([str(ROOT / "train.py"), f"paths.root_dir={tmp_path}", "model.latent_dim=0"], cwd=tmp_path)
    assert result.returncode != 0
    assert "latent_dim must be a positive integer" in result.stderr
