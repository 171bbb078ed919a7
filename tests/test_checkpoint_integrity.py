"""A checkpoint is whole or refused: damaged archives (with or without their digest), empty files, and kills at any
point of a save (issue 12, items 2, 3 and 9)."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from aelab.checkpoints import digest_path, integrity, load_checkpoint, pending_digest_path, save_with_digest
from aelab.errors import CheckpointError

ROOT = Path(__file__).resolve().parents[1]


def overwrite_middle(path: Path, n: int = 64) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + n] = bytes((b + 1) % 256 for b in data[middle : middle + n])
    path.write_bytes(bytes(data))


def test_a_checkpoint_with_64_changed_bytes_is_refused_without_its_digest(trained_run, tmp_path):
    path = tmp_path / "last.ckpt"
    shutil.copy(trained_run / "checkpoints" / "last.ckpt", path)  # copied alone, as users do
    overwrite_middle(path)
    with pytest.raises(CheckpointError, match="damaged|not a readable checkpoint archive"):
        load_checkpoint(path)


def test_a_checkpoint_with_64_changed_bytes_is_refused_with_its_digest(trained_run, tmp_path):
    path = tmp_path / "last.ckpt"
    shutil.copy(trained_run / "checkpoints" / "last.ckpt", path)
    shutil.copy(digest_path(trained_run / "checkpoints" / "last.ckpt"), digest_path(path))
    overwrite_middle(path)
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_an_empty_checkpoint_is_refused_with_a_message(tmp_path):
    empty = tmp_path / "empty.ckpt"
    empty.touch()
    with pytest.raises(CheckpointError, match=r"is empty \(0 bytes\)"):
        load_checkpoint(empty)


def test_a_truncated_checkpoint_is_refused(trained_run, tmp_path):
    path = tmp_path / "cut.ckpt"
    data = (trained_run / "checkpoints" / "last.ckpt").read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(path)


def small_checkpoint(i: int) -> dict:
    return {"state_dict": {"w": torch.full((1000,), float(i))}, "hyper_parameters": {}, "i": i}


@pytest.mark.parametrize("failing_call", [1, 2, 3])
def test_a_save_stopped_at_any_step_leaves_a_checkpoint_that_loads(tmp_path, monkeypatch, failing_call):
    """Stop the second save at its 1st, 2nd or 3rd rename (the pending digest, the checkpoint, the digest): what is
    on disk must load, as the old checkpoint or the new one."""
    path = tmp_path / "last.ckpt"
    save_with_digest(small_checkpoint(1), path)
    calls = {"n": 0}
    real_replace = os.replace

    def replace(src, dst):
        calls["n"] += 1
        if calls["n"] == failing_call:
            raise KeyboardInterrupt("killed here")
        return real_replace(src, dst)

    monkeypatch.setattr("os.replace", replace)
    with pytest.raises(KeyboardInterrupt):
        save_with_digest(small_checkpoint(2), path)
    monkeypatch.undo()
    loaded = torch.load(path, weights_only=True)["i"]
    assert loaded in (1, 2)
    assert load_checkpoint_unchecked_model(path)["i"] == loaded


def load_checkpoint_unchecked_model(path: Path) -> dict:
    integrity.verify_checkpoint_file(path)  # raises if refused
    return torch.load(path, weights_only=True)


def test_a_checkpoint_matching_only_its_pending_digest_loads(tmp_path):
    path = tmp_path / "last.ckpt"
    save_with_digest(small_checkpoint(1), path)
    shutil.move(digest_path(path), pending_digest_path(path))
    digest_path(path).write_text("0" * 64 + "  last.ckpt\n")  # the stale digest a kill can leave
    integrity.verify_checkpoint_file(path)


def test_no_kill_in_a_short_kill_loop_leaves_a_whole_checkpoint_refused(tmp_path):
    """Real SIGKILLs at random moments of a process saving in a loop (benchmarks/kill_loop.py runs hundreds)."""
    path = tmp_path / "last.ckpt"
    rng = random.Random(0)
    for _ in range(6):
        child = subprocess.Popen([sys.executable, str(ROOT / "tests" / "kill_loop_child.py"), str(path)], cwd=ROOT)
        deadline = time.monotonic() + 30
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.5))
        child.send_signal(signal.SIGKILL)
        child.wait()
        integrity.verify_checkpoint_file(path)  # whole files are never refused
        assert torch.load(path, weights_only=True)["i"] >= 1
