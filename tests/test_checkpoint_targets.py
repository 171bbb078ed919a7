"""A checkpoint is data, not a program: crafted ``_target_``s in it are refused and write nothing (issue 12, item 1)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from aelab.checkpoints import CONFIG_KEY, load_checkpoint, load_model, write_digest
from aelab.errors import CheckpointError
from aelab.pipeline import evaluate, train
from aelab.targets import allow_targets, check_targets

ROOT = Path(__file__).resolve().parents[1]


def write_text_spec(target: Path, text: str = "owned") -> dict:
    """What Hydra would build into ``Path(target).write_text(text)``."""
    return {
        "_target_": "pathlib.Path.write_text",
        "_args_": [{"_target_": "pathlib.Path", "_args_": [str(target)]}, text],
    }


def craft(trained_run: Path, dest: Path, change) -> Path:
    """A copy of the trained run's last.ckpt with ``change`` applied, and a matching digest (which proves nothing)."""
    checkpoint = torch.load(trained_run / "checkpoints" / "last.ckpt", weights_only=True)
    change(checkpoint)
    dest.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, dest)
    write_digest(dest)
    return dest


def set_noise(target: Path):
    return lambda ckpt: ckpt["hyper_parameters"].__setitem__("noise", write_text_spec(target))


def set_encoder_open(target: Path):
    spec = {"_target_": "builtins.open", "_args_": [str(target), "w"]}
    return lambda ckpt: ckpt["hyper_parameters"].__setitem__("encoder", spec)


def set_data_target(target: Path):
    return lambda ckpt: ckpt[CONFIG_KEY].__setitem__("data", write_text_spec(target))


@pytest.mark.parametrize("change", [set_noise, set_encoder_open, set_data_target], ids=["noise", "encoder", "data"])
def test_crafted_targets_in_a_checkpoint_write_no_file_through_load_evaluate_or_resume(
    change, trained_run, make_config, tmp_path
):
    victim = tmp_path / "x.txt"
    evil = craft(trained_run, tmp_path / "evil" / "evil.ckpt", change(victim))
    with pytest.raises(CheckpointError, match="not allowed") as refused:
        load_model(evil)
    assert "pathlib.Path" in str(refused.value) or "builtins.open" in str(refused.value)
    with pytest.raises(CheckpointError, match="not allowed"):
        evaluate(make_config(f"ckpt_path={evil}", "report.enabled=false", name="evaluate"))
    with pytest.raises(CheckpointError, match="not allowed"):
        train(make_config("data.source=sample", f"ckpt_path={evil}", "trainer.max_epochs=3"))
    assert not victim.exists()


def test_evaluate_py_refuses_a_crafted_checkpoint_with_a_message_and_writes_nothing(trained_run, tmp_path):
    victim = tmp_path / "x.txt"
    evil = craft(trained_run, tmp_path / "evil.ckpt", set_noise(victim))
    env = {**os.environ, "WANDB_MODE": "offline"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "evaluate.py"), f"ckpt_path={evil}", f"paths.root_dir={tmp_path}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert "error:" in result.stderr and "pathlib.Path.write_text" in result.stderr
    assert "Traceback" not in result.stderr
    assert not victim.exists()


def test_an_interpolation_in_a_checkpoint_is_refused(trained_run, tmp_path):
    spec = "${oc.decode:'{_target_: builtins.open, _args_: [x.txt, w]}'}"
    evil = craft(trained_run, tmp_path / "evil.ckpt", lambda ckpt: ckpt["hyper_parameters"].__setitem__("name", spec))
    with pytest.raises(CheckpointError, match="interpolation"):
        load_checkpoint(evil)


def test_a_model_class_outside_aelab_models_is_refused(trained_run, tmp_path):
    evil = craft(trained_run, tmp_path / "evil.ckpt", lambda ckpt: ckpt.__setitem__("aelab_model_class", "os.system"))
    with pytest.raises(CheckpointError, match="not an aelab model"):
        load_model(evil)


def test_an_aelab_function_is_not_a_class_a_checkpoint_may_build():
    spec = {"noise": {"_target_": "aelab.data.splits.seeded_subset", "n_total": 3, "n": 1, "seed": 0}}
    with pytest.raises(CheckpointError, match="not a model part class"):
        check_targets(spec, "ckpt")


def test_the_shipped_parts_and_moved_old_paths_are_allowed():
    check_targets(
        {
            "encoder": {"_target_": "aelab.nets.mlp.MLPEncoder"},
            "optimizer": {"_target_": "torch.optim.RMSprop", "_partial_": True},
            "scheduler": {"_target_": "torch.optim.lr_scheduler.CosineAnnealingLR", "_partial_": True},
            "noise": {"_target_": "aelab.data.corruption.GaussianNoise"},  # a checkpoint from before the move
            "penalties": {"l1": {"_target_": "aelab.models.penalties.L1Activity"}},
        },
        "ckpt",
    )


def test_your_own_classes_can_be_allowed_explicitly(monkeypatch):
    monkeypatch.setattr("aelab.targets._extra", set())
    spec = {"encoder": {"_target_": "mypkg.nets.Encoder"}}
    with pytest.raises(CheckpointError, match="AELAB_TRUSTED_TARGETS=mypkg.nets.Encoder"):
        check_targets(spec, "ckpt")
    monkeypatch.setenv("AELAB_TRUSTED_TARGETS", "mypkg.")
    check_targets(spec, "ckpt")
    monkeypatch.delenv("AELAB_TRUSTED_TARGETS")
    allow_targets("mypkg.nets.Encoder")
    check_targets(spec, "ckpt")
