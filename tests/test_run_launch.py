"""How runs start: unique output folders, W&B without a network, and DDP inside a multirun (issue 12, items 5, 9, 10)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest
import torch
from pytorch_lightning.loggers import WandbLogger

from aelab.pipeline.loggers import instantiate_loggers
from tests.conftest import ROOT, fast_overrides

PRINT_RUN_DIR = (
    "from omegaconf import OmegaConf; from aelab.run_dirs import register_resolvers; register_resolvers(); "
    "print(OmegaConf.create({'d': '${run_suffix:}'}).d)"
)


def suffix_in_new_process(**env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "TORCHELASTIC_"))}
    result = subprocess.run(
        [sys.executable, "-c", PRINT_RUN_DIR],
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.strip()


def test_two_runs_started_in_the_same_second_get_their_own_folders():
    first, second = suffix_in_new_process(), suffix_in_new_process()
    assert first != second and len(first) == 6
    assert (ROOT / "conf" / "hydra" / "default.yaml").read_text().count("_${run_suffix:}") == 2  # runs and sweeps


def test_the_processes_of_one_cluster_job_share_its_folder():
    assert suffix_in_new_process(SLURM_JOB_ID="4242") == suffix_in_new_process(SLURM_JOB_ID="4242") == "job4242"
    assert suffix_in_new_process(SLURM_ARRAY_JOB_ID="7", SLURM_ARRAY_TASK_ID="3") == "job7_3"


@pytest.mark.slow  # the two tests above show the folder names differ; this runs two train.py at once
def test_two_train_py_runs_started_together_write_two_whole_run_folders(tmp_path):
    command = [
        sys.executable,
        str(ROOT / "train.py"),
        *fast_overrides([]),
        "data.source=sample",
        f"paths.root_dir={tmp_path}",
    ]
    env = {**os.environ, "WANDB_MODE": "offline"}
    runs = [
        subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for run in runs:
        assert run.wait(timeout=300) == 0, run.stderr.read()[-3000:]
    folders = sorted((tmp_path / "outputs" / "train" / "runs").iterdir())
    assert len(folders) == 2
    for folder in folders:
        assert json.loads((folder / "results.json").read_text())["test/mse"] > 0
        assert (folder / ".hydra" / "config.yaml").is_file()


def test_wandb_online_without_a_network_falls_back_to_offline_with_one_line(monkeypatch, caplog, tmp_path):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)  # a live-looking key...
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")  # ...and a server nothing answers for
    spec = {
        "_target_": "pytorch_lightning.loggers.WandbLogger",
        "project": "aelab",
        "save_dir": str(tmp_path),
        "offline": "auto",
    }
    with caplog.at_level(logging.INFO):
        (logger,) = instantiate_loggers({"wandb": spec})
    assert isinstance(logger, WandbLogger) and logger._offline
    assert caplog.text.count("W&B: cannot reach the server (http://127.0.0.1:9") == 1


def test_ddp_inside_a_multirun_writes_one_sweep_folder_and_does_not_relaunch_it(tmp_path):
    """Also what a single DDP run must do: rank 0 reports once and W&B records one run per job (tests/test_cli.py's
    slow DDP test also checks that the epoch is sharded over the two processes)."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "-m", *fast_overrides([]), "data.source=sample", "trainer=ddp",
         "trainer.devices=2", "model.latent_dim=4,8", "logger=wandb", f"paths.root_dir={tmp_path}"],
        cwd=tmp_path, env={**os.environ, "WANDB_MODE": "offline"}, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Traceback" not in result.stderr and result.stdout.count("AE test MSE") == 2  # once per job, by rank 0
    sweeps = list((tmp_path / "outputs" / "train" / "multiruns").iterdir())
    assert len(sweeps) == 1, sweeps  # rank 1 used to start the sweep again, in a second folder
    jobs = sorted(p.parent.name for p in sweeps[0].glob("*/results.json"))
    assert jobs == ["0", "1"]
    assert not (tmp_path / "outputs" / "train" / "runs").exists()
    dims = [json.loads((sweeps[0] / j / "results.json").read_text())["pca/k"] for j in jobs]
    assert dims == [4.0, 8.0]
    for job in jobs:
        assert len(list((sweeps[0] / job / "wandb").glob("offline-run-*"))) == 1  # no duplicate W&B runs
        ckpt = torch.load(sweeps[0] / job / "checkpoints" / "last.ckpt", weights_only=True)
        assert ckpt["global_step"] == 3  # FAST limits each process to 3 batches (the slow DDP test checks sharding)
