"""Every checkpoint carries a sha256 digest; a file changed after saving is refused by evaluate and resume."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from aelab.checkpoints import digest_path, load_checkpoint
from aelab.errors import CheckpointError
from aelab.pipeline import train


def copy_with_digest(run: Path, dest: Path) -> Path:
    source = run / "checkpoints" / "last.ckpt"
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, dest / "last.ckpt")
    shutil.copy(digest_path(source), digest_path(dest / "last.ckpt"))
    return dest / "last.ckpt"


def flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_every_saved_checkpoint_has_a_matching_digest(trained_run):
    checkpoints = sorted((trained_run / "checkpoints").glob("*.ckpt"))
    assert checkpoints and all(digest_path(p).is_file() for p in checkpoints)
    assert not list((trained_run / "checkpoints").glob("*.tmp*"))
    digests = sorted((trained_run / "checkpoints").glob("*.sha256"))
    assert len(digests) == len(checkpoints)  # a checkpoint removed (no longer the best) takes its digest along
    for path in checkpoints:
        assert "state_dict" in load_checkpoint(path)


def test_a_tampered_checkpoint_is_refused(trained_run, tmp_path):
    path = copy_with_digest(trained_run, tmp_path / "copy")
    flip_one_byte(path)
    with pytest.raises(CheckpointError, match="does not match the digest"):
        load_checkpoint(path)


def test_evaluate_refuses_a_tampered_checkpoint(make_config, trained_run, tmp_path):
    from aelab.pipeline import evaluate

    path = copy_with_digest(trained_run, tmp_path / "copy")
    flip_one_byte(path)
    with pytest.raises(CheckpointError, match="refusing to load it"):
        evaluate(make_config(f"ckpt_path={path}", name="evaluate"))


def test_resume_from_a_tampered_checkpoint_is_refused_before_training(make_config, trained_run, tmp_path):
    path = copy_with_digest(trained_run, tmp_path / "copy")
    flip_one_byte(path)
    cfg = make_config("data.source=sample", f"ckpt_path={path}", "trainer.max_epochs=3")
    with pytest.raises(CheckpointError, match="tampered"):
        train(cfg)
    assert not (Path(cfg.paths.output_dir) / "checkpoints").exists()


def test_a_checkpoint_without_digest_loads_with_a_warning(trained_run, tmp_path, caplog):
    path = copy_with_digest(trained_run, tmp_path / "copy")
    digest_path(path).unlink()
    with caplog.at_level(logging.WARNING):
        assert "state_dict" in load_checkpoint(path)
    assert "only its archive checksums can be checked" in caplog.text
