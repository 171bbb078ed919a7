"""Run folders unique per launch: the time to the second is not enough when two runs start together.

``${run_suffix:}`` (used in conf/hydra/default.yaml) is the scheduler's job id when there is one (SLURM, torchrun),
so every process of one DDP job resolves the same folder, and six random hex digits otherwise. It is drawn once per
process; Lightning's DDP launcher hands its child processes the parent's resolved folder.
"""

from __future__ import annotations

import os
import secrets

from omegaconf import OmegaConf

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
