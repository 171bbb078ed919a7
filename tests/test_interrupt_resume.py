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


def printed_resume_args(stderr: str) -> list[str]:
    """The overrides of the resume command a stopped run printed, less the test's own signal callback."""
    command = stderr.split("Resume it with:\n")[1].strip().splitlines()[0]
    args = shlex.split(command)[2:]  # python train.py <overrides...>
    return [a for a in args if not a.startswith("+callbacks.stop")]


def checkpoint_record(run_dir: Path) -> dict[str, object]:
    """Which checkpoint a run holds as best (and its val/loss), and what its last.ckpt and early stopping hold."""
    last = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)
    states = last["callbacks"]
    best = next(v for k, v in states.items() if k.startswith("ModelCheckpoint"))
    stopping = next(v for k, v in states.items() if k.startswith("EarlyStopping"))
    return {
        "best": Path(best["best_model_path"]).name,
        "best_val_loss": float(best["best_model_score"]),
        "last": (last["epoch"], last["global_step"]),
        "early_stopping": (float(stopping["best_score"]), stopping["wait_count"]),
    }


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The runs that never stopped, each trained once in this process (the same code path, less start-up) and
    shared by the tests whose stopped and resumed runs must repeat them: ``uninterrupted(run)`` -> (metrics, dir)."""
    runs: dict[tuple[str, ...], tuple[dict[str, float], Path]] = {}

    def whole(run: list[str]) -> tuple[dict[str, float], Path]:
        if tuple(run) not in runs:
            cfg = compose_config(tmp_path_factory.mktemp("whole"), run)
            runs[tuple(run)] = train(cfg), Path(cfg.paths.output_dir)
        return runs[tuple(run)]

    return whole


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
def test_sigterm_mid_run_saves_prints_the_resume_command_and_resuming_matches_the_uninterrupted_run(
    tmp_path, uninterrupted, run
):
    whole, _ = uninterrupted(run)
    stopped = run_train([*run, *stop_at(11, "SIGTERM"), f"hydra.run.dir={tmp_path / 'stopped'}"], tmp_path)
    assert stopped.returncode == 143, stopped.stderr[-3000:]
    saved = tmp_path / "stopped" / "checkpoints" / "interrupted.ckpt"
    assert saved.is_file() and not (tmp_path / "stopped" / "results.json").exists()
    assert "Training stopped by SIGTERM at epoch 1, step 11" in stopped.stderr
    progress = torch.load(saved, weights_only=False)["loops"]["fit_loop"]["epoch_loop.batch_progress"]["current"]
    assert progress["completed"] == (1 if run is GROUPED else 3)  # Lightning batches of epoch 1 done: groups count
    args = printed_resume_args(stopped.stderr)
    assert f"ckpt_path={saved}" in args
    resumed = run_train([*args, f"hydra.run.dir={tmp_path / 'resumed'}"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    got = json.loads((tmp_path / "resumed" / "results.json").read_text())["test/mse"]
    assert got == pytest.approx(whole["test/mse"], abs=1e-4)
    assert abs(got - whole["test/mse"]) < 1e-6  # in fact the same batches, noise and flips: equal to float precision


IN_VALIDATION = ["+callbacks.stop._target_=tests.signals.SendSignalInValidation", "+callbacks.stop.epoch=1"]


def test_sigterm_during_validation_resumes_by_validating_again_and_matches_the_uninterrupted_run(
    tmp_path, uninterrupted
):
    """Stopped after the first of epoch 1's two validation batches: Lightning took the checkpoint for one saved after
    validation (all training batches done) and skipped the pass, so early stopping found no val/loss. The resumed
    run validates epoch 1 again from the RNG states the pass started with: the same metrics, best checkpoint and
    test MSE as the run that never stopped."""
    whole, whole_dir = uninterrupted(GROUPED)
    stopped = run_train([*GROUPED, *IN_VALIDATION, f"hydra.run.dir={tmp_path / 'stopped'}"], tmp_path)
    assert stopped.returncode == 143, stopped.stderr[-3000:]
    assert "Training stopped by SIGTERM at epoch 1, step 14" in stopped.stderr  # 7 steps an epoch, all trained
    saved = torch.load(tmp_path / "stopped" / "checkpoints" / "interrupted.ckpt", weights_only=False)
    val = saved["loops"]["fit_loop"]["epoch_loop.val_loop.batch_progress"]
    assert val["current"]["completed"] == 0 and val["total"]["started"] == val["total"]["processed"] + 1
    resumed = run_train([*printed_resume_args(stopped.stderr), f"hydra.run.dir={tmp_path / 'resumed'}"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Traceback" not in resumed.stderr
    got = json.loads((tmp_path / "resumed" / "results.json").read_text())
    same = {k: v for k, v in whole.items() if not k.startswith("time/")}  # all but the seconds an epoch took
    assert {k: v for k, v in got.items() if not k.startswith("time/")} == pytest.approx(same, abs=1e-6)
    assert checkpoint_record(tmp_path / "resumed") == checkpoint_record(whole_dir)


@pytest.mark.slow  # three DDP runs of two processes each: about a minute on 2 cores
def test_under_ddp_sigterm_during_validation_resumes_and_matches_the_uninterrupted_run(tmp_path):
    """Under DDP (2 CPU processes) a checkpoint saved during validation needs no skipped batches (the epoch has
    trained them all), so resuming it repeats the run that never stopped too."""
    run = [*GROUPED, "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2"]
    whole = run_train([*run, f"hydra.run.dir={tmp_path / 'whole'}"], tmp_path)
    assert whole.returncode == 0, whole.stderr[-3000:]
    stopped = run_train([*run, *IN_VALIDATION, f"hydra.run.dir={tmp_path / 'stopped'}"], tmp_path)
    assert stopped.returncode == 143, stopped.stderr[-3000:]
    resumed = run_train([*printed_resume_args(stopped.stderr), f"hydra.run.dir={tmp_path / 'resumed'}"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    want, got = (json.loads((tmp_path / d / "results.json").read_text()) for d in ("whole", "resumed"))
    assert got["test/mse"] == pytest.approx(want["test/mse"], abs=1e-6)
    assert got["val/loss"] == pytest.approx(want["val/loss"], abs=1e-6)


@pytest.mark.slow  # two more runs
def test_a_run_resumed_in_a_new_folder_still_tests_the_best_checkpoint_of_the_run(tmp_path, uninterrupted):
    """At lr 0.01 val/loss is lowest at epoch 1. Stopped during epoch 2's validation and resumed in a new run folder
    (as the printed command does), the run must still test epoch 1's checkpoint: ModelCheckpoint dropped the best
    score so far when its folder changed and took epoch 2 for the best."""
    run = [*GROUPED, "model.optimizer.lr=0.01"]
    whole, whole_dir = uninterrupted(run)
    if checkpoint_record(whole_dir)["best"] == "epoch002.ckpt":
        pytest.skip("val/loss fell at every epoch on this machine: nothing earlier to keep")
    stop = [*IN_VALIDATION[:1], "+callbacks.stop.epoch=2"]
    stopped = run_train([*run, *stop, f"hydra.run.dir={tmp_path / 'stopped'}"], tmp_path)
    assert stopped.returncode == 143, stopped.stderr[-3000:]
    resumed = run_train([*printed_resume_args(stopped.stderr), f"hydra.run.dir={tmp_path / 'resumed'}"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    got = json.loads((tmp_path / "resumed" / "results.json").read_text())
    assert got["test/mse"] == pytest.approx(whole["test/mse"], abs=1e-6)
    kept, want = checkpoint_record(tmp_path / "resumed"), checkpoint_record(whole_dir)
    assert (kept["best"], kept["best_val_loss"]) == (want["best"], pytest.approx(want["best_val_loss"], abs=1e-6))


@pytest.mark.slow  # two more runs
def test_sigterm_during_the_sanity_check_of_a_resumed_run_still_resumes_exactly(tmp_path, uninterrupted):
    """A run resumed from an epoch-end checkpoint validates a few batches before it trains (the sanity check), and a
    SIGTERM there saves a checkpoint before the resumed RNG states were applied: it must hold those, not the ones
    the sanity check drew from."""
    whole, _ = uninterrupted(GROUPED)
    train(compose_config(tmp_path / "first", [*GROUPED, "trainer.max_epochs=2"]))
    last = tmp_path / "first" / "run" / "checkpoints" / "last.ckpt"
    sanity = ["trainer.num_sanity_val_steps=2", *IN_VALIDATION, "+callbacks.stop.sanity=true"]
    stopped = run_train([*GROUPED, *sanity, f"ckpt_path={last}", f"hydra.run.dir={tmp_path / 'stopped'}"], tmp_path)
    assert stopped.returncode == 143, stopped.stderr[-3000:]
    resumed = run_train([*printed_resume_args(stopped.stderr), f"hydra.run.dir={tmp_path / 'resumed'}"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    got = json.loads((tmp_path / "resumed" / "results.json").read_text())["test/mse"]
    assert abs(got - whole["test/mse"]) < 1e-6


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


def test_resuming_from_an_epoch_end_checkpoint_matches_the_uninterrupted_run(tmp_path, uninterrupted):
    whole, _ = uninterrupted(RUN)
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
