"""Faults of the place, not of the data: a full disk, a read-only folder or a missing argument end in one sentence that
names the path or key, and leave nothing half-written or temporary behind (issue 31, items 5 and 8)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

from aelab.checkpoints import digest_path, load_model, pending_digest_path, save_with_digest
from aelab.errors import NotWritableError
from aelab.pipeline import train
from tests.conftest import CONF_DIR, fast_overrides

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def tmpfs(tmp_path):
    """Mount small tmpfs folders (a real full disk, a real read-only file system); skipped where mounting is not
    allowed (not root, or a container without the capability)."""
    mounted: list[Path] = []

    def mount(size: str = "3m", read_only: bool = False) -> Path:
        folder = tmp_path / f"tmpfs{len(mounted)}"
        folder.mkdir()
        options = f"size={size}" + (",ro" if read_only else "")
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith((".tmp", ".pending")) or ".tmp" in p.suffixes]


def test_a_full_disk_mid_run_is_one_clear_error_and_keeps_the_whole_checkpoints(tmpfs, tmp_path):
    disk = tmpfs("3m")  # room for two checkpoints of the dense AE (1.3 MB each), not for a third
    overrides = [
        f"paths.root_dir={tmp_path}",
        f"paths.output_dir={disk / 'run'}",
        *fast_overrides(["data.source=sample", "trainer.max_epochs=4"]),
    ]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides)
    with pytest.raises(NotWritableError) as failed:
        train(cfg)
    message = str(failed.value)
    assert f"cannot write {disk / 'run' / 'checkpoints'}" in message and "the disk is full" in message
    assert "Resume from the last whole checkpoint" in message and "ckpt_path=" in message
    assert leftovers(disk) == []
    saved = sorted((disk / "run" / "checkpoints").glob("*.ckpt"))
    assert saved, "the checkpoints saved before the disk filled are kept"
    for path in saved:
        load_model(path)  # whole, and matching their digests


def test_a_failed_checkpoint_write_keeps_the_old_file_and_leaves_no_pending_digest(tmp_path, monkeypatch):
    path = tmp_path / "model.ckpt"
    save_with_digest({"i": 1}, path)
    before = path.read_bytes()

    real_fsync = os.fsync

    def no_room_for_big_files(fd: int) -> None:  # the digest (80 bytes) fits, the checkpoint does not
        if os.fstat(fd).st_size > 1000:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", no_room_for_big_files)  # delayed allocation: the disk fills at the flush
    with pytest.raises(NotWritableError, match=f"cannot write {path}: the disk is full"):
        save_with_digest({"i": 2, "weights": torch.zeros(1000)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert digest_path(path).is_file() and not pending_digest_path(path).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.ckpt", "model.ckpt.sha256"]


def run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": "offline", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_train_py_with_a_read_only_run_folder_says_so_in_one_line(tmpfs, tmp_path):
    read_only = tmpfs("1m", read_only=True)
    result = run_cli([str(ROOT / "train.py"), f"hydra.run.dir={read_only / 'run'}", "model=dense"], tmp_path)
    assert result.returncode == 1
    assert f"cannot create the run folder {read_only / 'run'} (Read-only file system)" in result.stderr
    assert "hydra.run.dir=<folder>" in result.stderr and "Traceback" not in result.stderr


def test_encode_without_ckpt_path_names_the_missing_key(tmp_path):
    result = run_cli(["-m", "aelab.encode", f"input={tmp_path}"], tmp_path)
    assert result.returncode == 1
    assert "ckpt_path is required" in result.stderr and "ckpt_path=<value>" in result.stderr
    assert "Traceback" not in result.stderr
