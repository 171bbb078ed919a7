"""Run folders unique per launch: the time to the second is not enough when two runs start together.

``${run_suffix:}`` (used in conf/hydra/default.yaml) is the scheduler's job id when there is one (SLURM, torchrun),
so every process of one DDP job resolves the same folder, and six random hex digits otherwise. It is drawn once per
process; Lightning's DDP launcher hands its child processes the parent's resolved folder. ``CheckRunFolder`` (a Hydra
callback in conf/hydra/default.yaml) refuses a run folder that cannot be made, in one line instead of a trace.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from aelab.files import write_problem

_SUFFIX = None


def run_suffix() -> str:
    global _SUFFIX
    if _SUFFIX is None:
        slurm = os.environ.get("SLURM_ARRAY_JOB_ID") or os.environ.get("SLURM_JOB_ID")
        task = os.environ.get("SLURM_ARRAY_TASK_ID")
        job = f"{slurm}_{task}" if slurm and task else slurm or os.environ.get("TORCHELASTIC_RUN_ID")
        _SUFFIX = f"job{job}" if job and job != "none" else secrets.token_hex(3)
    return _SUFFIX


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("run_suffix"):
        OmegaConf.register_new_resolver("run_suffix", run_suffix)


class CheckRunFolder(Callback):
    """Before Hydra makes the run (or sweep) folder: one clear error when it cannot be made, not Hydra's trace."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config, "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config, "hydra.sweep.dir")

    @staticmethod
    def _check(config: DictConfig, key: str) -> None:
        from hydra.core.hydra_config import HydraConfig

        try:
            if not HydraConfig.initialized():
                HydraConfig.instance().set_config(config)  # what run_job does next; ${hydra:...} needs it
            folder = Path(str(OmegaConf.select(config, key)))
        except Exception:  # a folder this check cannot resolve is left to Hydra
            return
        problem = write_problem(folder)
        if problem:
            print(
                f"error: cannot create the run folder {folder} ({problem}). Choose a folder you can write to: "
                f"{key}=<folder>, or paths.log_dir=<folder> for every run.",
                file=sys.stderr,
            )
            raise SystemExit(1)
