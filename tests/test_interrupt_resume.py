"""A run that stops says so and resumes exactly: SIGTERM and Ctrl+C save a checkpoint and print the resume command,
resuming repeats the uninterrupted run, and a resume cannot silently change the optimizer (issue 12, items 4, 7)."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from aelab.errors import CheckpointError
from aelab.pipeline import train
from tests.conftest import compose_config

ROOT = Path(__file__).resolve().parents[1]
# 3 epochs of 8 batches of real digits: the noise and augmentation draw from the RNG, the order from the sampler
RUN = [
    "data.source=sample",
    "data.download=false",
    "data.batch_size=64",
    "data.augment.hflip=0.5",
    "noise=gaussian",
    "trainer.accelerator=cpu",
    "trainer.max_epochs=3",
    "trainer.limit_train_batches=8",
    "trainer.limit_val_batches=2",
    "trainer.limit_test_batches=4",
    "trainer.num_sanity_val_steps=1",
    "logger=csv",
    "callbacks.progress_bar=null",
    "callbacks.model_summary=null",
    "callbacks.pca_baseline.max_fit_samples=500",
    "callbacks.pca_baseline.probe_train_samples=200",
    "callbacks.latent_probe.train_samples=200",
]


def run_train(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": "offline", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def stop_at(step: int, signal_name: str) -> list[str]:
    return [
        "+callbacks.stop._target_=tests.signals.SendSignalAt",
        f"+callbacks.stop.step={step}",
        f"+callbacks.stop.signal_name={signal_name}",
    ]


# whole epochs of 400 digits (val_size=0.9) in groups of 4 batches of 64: 7 batches, 2 groups an epoch (steps 4, 7)
GROUPED = [a for a in RUN if not a.startswith("trainer.limit_train_batches")] + [
    "data.val_size=0.9",
    "data.group_batches=4",
]


# the groups run is the default path; the batches run (limit_train_batches) repeats it one batch at a time: slow
@pytest.mark.parametrize("run", [pytest.param(RUN, marks=pytest.mark.slow), GROUPED], ids=["batches", "groups"])
def test_sigterm_mid_run_saves_prints_the_resume_command_and_resuming_matches_the_uninterrupted_run(tmp_path, run):
    whole = train(compose_config(tmp_path / "whole", run))  # in this process: the same code path, less start-up
    stopped = run_train([*run, *stop_at(11, "SIGTERM"), f"hydra.run.dir={tmp_path / 'stopped'}"], tmp_path)
    assert stopped.returncode == 143, stopped.stderr[-3000:]
    saved = tmp_path / "stopped" / "checkpoints" / "interrupted.ckpt"
    assert saved.is_file() and not (tmp_path / "stopped" / "results.json").exists()
    assert "Training stopped by SIGTERM at epoch 1, step 11" in stopped.stderr
    progress = torch.load(saved, weights_only=False)["loops"]["fit_loop"]["epoch_loop.batch_progress"]["current"]
    assert progress["completed"] == (1 if run is GROUPED else 3)  # Lightning batches of epoch 1 done: groups count
    command = stopped.stderr.split("Resume it with:\n")[1].strip().splitlines()[0]
    assert f"ckpt_path={saved}" in command
    args = shlex.split(command)[2:]  # python train.py <overrides...>
    args = [a for a in args if not a.startswith("+callbacks.stop")]  # the signal was the test's, not the run's
    resumed = run_train([*args, f"hydra.run.dir={tmp_path / 'resumed'}"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    got = json.loads((tmp_path / "resumed" / "results.json").read_text())["test/mse"]
    assert got == pytest.approx(whole["test/mse"], abs=1e-4)
    assert abs(got - whole["test/mse"]) < 1e-6  # in fact the same batches, noise and flips: equal to float precision


def test_ctrl_c_saves_and_prints_the_resume_command(tmp_path, capsys):
    handler = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a fresh train.py (other tests may have changed it)
    try:
        with pytest.raises(SystemExit) as stopped:
            train(compose_config(tmp_path, [*RUN, *stop_at(3, "SIGINT")]))
    finally:
        signal.signal(signal.SIGINT, handler)  # Lightning ignores further Ctrl+C while it shuts down
    assert stopped.value.code == 130
    err = capsys.readouterr().err
    assert "Training stopped by SIGINT (Ctrl+C) at epoch 0, step 3" in err
    assert f"ckpt_path={tmp_path / 'run' / 'checkpoints' / 'interrupted.ckpt'}" in err


def test_resuming_from_an_epoch_end_checkpoint_matches_the_uninterrupted_run(tmp_path):
    whole = train(compose_config(tmp_path / "whole", RUN))
    train(compose_config(tmp_path / "first", [*RUN, "trainer.max_epochs=2"]))
    last = tmp_path / "first" / "run" / "checkpoints" / "last.ckpt"
    resumed = train(compose_config(tmp_path / "resumed", [*RUN, f"ckpt_path={last}"]))
    assert resumed["test/mse"] == pytest.approx(whole["test/mse"], abs=1e-6)


def test_a_resume_that_changes_the_learning_rate_is_refused_before_training(make_config, trained_run, tmp_path):
    ckpt = trained_run / "checkpoints" / "last.ckpt"
    cfg = make_config("data.source=sample", f"ckpt_path={ckpt}", "trainer.max_epochs=3", "model.optimizer.lr=1e6")
    with pytest.raises(
        CheckpointError, match=r"model.optimizer: checkpoint RMSprop\(.*lr=0.001.*this run RMSprop\(.*lr=1000000"
    ):
        train(cfg)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_a_resume_with_another_optimizer_class_is_refused_before_training(make_config, trained_run, tmp_path):
    ckpt = trained_run / "checkpoints" / "last.ckpt"
    cfg = make_config("data.source=sample", f"ckpt_path={ckpt}", "trainer.max_epochs=3", "model/optimizer=adam")
    with pytest.raises(CheckpointError, match=r"checkpoint RMSprop.*this run Adam"):
        train(cfg)
