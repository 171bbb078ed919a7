"""The two entry points as a user runs them: real processes, real Hydra output folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
    assert "embedded 5,000-digit sample" in train.stderr
    # a quiet console: the progress bar, then five lines (the figures, the verdict, the selection of the anchored
    # default net, the run folder, the report)
    last = train.stdout.strip().splitlines()[-5:]
    assert last[0].startswith("AE test MSE") and "clipped PCA-20 test MSE" in last[0] and "probe accuracy" in last[0]
    assert "(conv_strided)" in last[1] and ("is ahead" in last[1] or "is level" in last[1])
    assert last[2].startswith("Selected ") and "validation" in last[2]
    last = last[:2] + last[3:]
    run_dir = Path(last[2].removeprefix("Run folder: ").split(" (")[0])
    assert (run_dir / "results.json").is_file() and (
        run_dir / "panels" / "images_reconstructions_epoch001.png"
    ).is_file()
    ckpt = Path(last[3].split("ckpt_path=")[1])
    assert ckpt.is_file() and ckpt.parents[1] == run_dir
    for noise in ("GPU available", "Tip:", "Trainable params", "LeafSpec", "wandb:", "Test metric", "Seed set"):
        assert noise not in train.stdout + train.stderr, noise
    assert list(run_dir.glob("wandb/offline-run-*")), "default logger is W&B, offline without a login"

    small_report = [
        "report.tsne.num_samples=200",
        "report.tsne.max_iter=250",
        "report.cnn.epochs=1",
        "report.cnn.train_samples=500",
        "report.retrieval.num_queries=100",
    ]  # test_report.py checks it whole
    evaluation = run([str(ROOT / "evaluate.py"), f"paths.root_dir={tmp_path}", f"ckpt_path={ckpt}", *small_report],
                     cwd=tmp_path)  # fmt: skip
    assert evaluation.returncode == 0, evaluation.stderr[-3000:]
    assert (ckpt.parents[1] / "metrics.json").is_file() and (ckpt.parents[1] / "report" / "report.md").is_file()


def test_bad_input_exits_with_the_message_not_a_traceback_wall(tmp_path):
    result = run([str(ROOT / "train.py"), f"paths.root_dir={tmp_path}", "model.latent_dim=0"], cwd=tmp_path)
    assert result.returncode != 0
    assert "latent_dim must be a positive integer" in result.stderr
    assert "Traceback" not in result.stderr  # the message, not a stack
    assert len(result.stderr.strip().splitlines()) <= 6, result.stderr


def test_headline_command_on_intel_scenes(tmp_path):
    """python train.py model=conv_deep data=intel data.root=<scene tree> trainer.max_epochs=1 at 128x128x3."""
    from aelab.data.synthetic import make_intel_tree

    root = make_intel_tree(tmp_path / "intel", per_class=3, test_per_class=1)
    result = run(
        [
            str(ROOT / "train.py"),
            "model=conv_deep",
            "data=intel",
            f"data.root={root}",
            "trainer.max_epochs=1",
            "trainer.limit_train_batches=2",
            "data.batch_size=4",
            f"paths.root_dir={tmp_path}",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "AE test MSE" in result.stdout and "PCA-" in result.stdout
    run_dir = next((tmp_path / "outputs" / "train" / "runs").iterdir())
    images = {p.name for p in run_dir.glob("wandb/offline-run-*/files/media/images/**/*.png")}
    assert any("reconstructions" in n for n in images) and any("latent_pair_average" in n for n in images)


@pytest.mark.slow  # tests/test_run_launch.py's DDP multirun test covers the same in the default suite
def test_ddp_on_two_cpu_processes_logs_one_wandb_run(tmp_path):
    result = run(
        [
            str(ROOT / "train.py"),
            "trainer=ddp",
            "trainer.accelerator=cpu",
            "trainer.devices=2",
            "trainer.max_epochs=2",
            "trainer.limit_val_batches=2",
            "data.source=sample",
            "data.download=false",
            "callbacks.progress_bar=null",
            f"hydra.run.dir={tmp_path / 'run'}",
            f"paths.root_dir={tmp_path}",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Error executing job" not in result.stderr and "Traceback" not in result.stderr  # no rank failed
    assert result.stdout.count("AE test MSE") == 1  # printed by rank 0 only
    assert len(list((tmp_path / "run" / "wandb").glob("offline-run-*"))) == 1  # no duplicate W&B runs
    assert not (tmp_path / "outputs").exists()  # the second process reused the run folder, made no other
    times = json.loads((tmp_path / "run" / "epoch_times.json").read_text())
    assert len(times["epoch_seconds"]) == 2
    ckpt = __import__("torch").load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    # 3,600 training digits, batch 128: unsharded 29 steps per epoch; each of 2 processes gets 1,800 -> 15 steps
    assert ckpt["global_step"] == 2 * 15
