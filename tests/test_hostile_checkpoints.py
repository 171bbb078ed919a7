"""A checkpoint is read once: the bytes that are checked (digest, CRCs, allow-list) are the bytes the model is built
from, so a file swapped between two reads cannot slip in; allowed classes are matched by where they are defined
(issue 31, items 1 and 9)."""

from __future__ import annotations

import builtins
import os
import shutil
import threading
from pathlib import Path

import pytest
import torch

from aelab.checkpoints import digest_path, load_model, write_digest
from aelab.errors import CheckpointError
from aelab.pipeline import train
from aelab.targets import check_target
from tests.test_checkpoint_targets import craft, set_encoder_open


def copy_checkpoint(trained_run: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    source = trained_run / "checkpoints" / "last.ckpt"
    shutil.copy(source, dest)
    shutil.copy(digest_path(source), digest_path(dest))
    return dest


def point(link: Path, target: Path) -> None:
    """Make ``link`` a symlink to ``target`` in one atomic rename, as an attacker flipping it would."""
    tmp = link.with_name(f".{link.name}.flip")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    os.replace(tmp, link)


def opens_of(paths: list[Path], monkeypatch, after_first=None) -> list[Path]:
    """Record every open() of any of ``paths`` (links resolved as the open resolves them); run ``after_first`` right
    after the first one (a swap between two reads)."""
    seen: list[Path] = []
    watched = {p.resolve() for p in paths}
    real_open = builtins.open

    def watching_open(file, *args, **kwargs):
        handle = real_open(file, *args, **kwargs)
        if isinstance(file, str | os.PathLike) and Path(file).resolve() in watched:
            seen.append(Path(file).resolve())
            if len(seen) == 1 and after_first is not None:
                after_first()
        return handle

    monkeypatch.setattr(builtins, "open", watching_open)
    return seen


def test_a_checkpoint_swapped_right_after_it_was_read_is_not_read_again(trained_run, tmp_path, monkeypatch):
    victim = tmp_path / "created-by-the-checkpoint.txt"
    benign = copy_checkpoint(trained_run, tmp_path / "benign" / "model.ckpt")
    evil = craft(trained_run, tmp_path / "evil" / "model.ckpt", set_encoder_open(victim))
    link = tmp_path / "model.ckpt"
    point(link, benign)
    opened = opens_of([benign, evil], monkeypatch, after_first=lambda: point(link, evil))
    model, checkpoint = load_model(link)
    assert opened == [benign.resolve()], "the checkpoint must be read exactly once"
    assert not victim.exists()
    assert checkpoint["hyper_parameters"]["encoder"]["_target_"].startswith("aelab.nets.")
    assert model.latent_dim == checkpoint["hyper_parameters"]["latent_dim"]


def test_a_symlink_flipping_under_repeated_loads_never_builds_the_crafted_file(trained_run, tmp_path):
    victim = tmp_path / "created-by-the-checkpoint.txt"
    benign = copy_checkpoint(trained_run, tmp_path / "benign" / "model.ckpt")
    evil = craft(trained_run, tmp_path / "evil" / "model.ckpt", set_encoder_open(victim))
    link = tmp_path / "model.ckpt"
    point(link, benign)
    stop = threading.Event()

    def flip() -> None:
        while not stop.is_set():
            for target in (evil, benign):
                point(link, target)

    flipper = threading.Thread(target=flip, daemon=True)
    flipper.start()
    outcomes = {"loaded": 0, "refused": 0}
    try:
        for _ in range(30):
            try:
                load_model(link)
                outcomes["loaded"] += 1
            except CheckpointError:
                outcomes["refused"] += 1
    finally:
        stop.set()
        flipper.join()
    assert not victim.exists()
    assert sum(outcomes.values()) == 30


def test_resuming_reads_the_checkpoint_once(trained_run, make_config, monkeypatch):
    ckpt = trained_run / "checkpoints" / "last.ckpt"
    opened = opens_of([ckpt], monkeypatch)
    train(make_config("data.source=sample", f"ckpt_path={ckpt}", "trainer.max_epochs=3", "test=false"))
    assert opened == [ckpt.resolve()]


def test_a_class_reached_through_an_allowed_module_but_defined_elsewhere_is_refused(trained_run, tmp_path):
    reached = "torch.nn.functional.torch.fx.GraphModule"  # an nn.Module, reachable from torch.nn, defined in torch.fx
    spec = {"_target_": reached, "root": {}, "graph": None}
    evil = craft(trained_run, tmp_path / "evil.ckpt", lambda c: c["hyper_parameters"].__setitem__("encoder", spec))
    with pytest.raises(CheckpointError, match=r"torch\.fx\.graph_module\.GraphModule.*defined outside"):
        load_model(evil)
    check_target("torch.nn.ReLU", "ckpt")  # a re-export of a class defined inside torch.nn stays allowed
    check_target("torch.optim.Adam", "ckpt")


def test_a_symlinked_checkpoint_is_checked_against_the_digest_beside_its_target(trained_run, tmp_path):
    target = copy_checkpoint(trained_run, tmp_path / "store" / "model.ckpt")
    checkpoint = torch.load(target, weights_only=True)
    checkpoint["state_dict"] = {k: v + 1 for k, v in checkpoint["state_dict"].items()}
    torch.save(checkpoint, target)  # a whole archive, changed after training wrote its digest
    link = tmp_path / "elsewhere" / "model.ckpt"
    link.parent.mkdir()
    link.symlink_to(target)
    with pytest.raises(CheckpointError, match="does not match the digest"):
        load_model(link)
    write_digest(target)  # the digest of the file as it is now: accepted
    load_model(link)


def test_a_folder_as_ckpt_path_is_called_a_folder(trained_run):
    with pytest.raises(CheckpointError, match=r"(?s)is a folder, not a checkpoint file.*last\.ckpt"):
        load_model(trained_run / "checkpoints")
