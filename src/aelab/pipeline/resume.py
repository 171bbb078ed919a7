"""Resuming a run: what a resumed run may not change, and what to tell the user when a run stops early."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from aelab.errors import CheckpointError

# Parts of the model config whose state a checkpoint carries on: a resumed run continues them, it cannot swap them.
CONTINUED = ("optimizer", "scheduler")
EXIT_CODES = {"SIGTERM": 143, "SIGINT (Ctrl+C)": 130}  # 128 + the signal number, as shells report them


def check_resume_overrides(checkpoint: dict[str, Any], cfg: DictConfig, path: str | Path) -> None:
    """Refuse, before training, a resume whose optimizer or schedule differs from the checkpoint's: Lightning would
    restore the old optimizer's state over the new settings (or fail deep inside torch on another class)."""
    saved = checkpoint["hyper_parameters"]
    wanted = OmegaConf.to_container(cfg.model, resolve=True)
    differences = []
    for part in CONTINUED:
        before, after = saved.get(part), wanted.get(part)
        if before != after:
            differences.append(f"model.{part}: checkpoint {_short(before)}, this run {_short(after)}")
    if differences:
        raise CheckpointError(
            f"ckpt_path={path} resumes an optimizer and schedule whose state it carries, but this run configures "
            "different ones:\n  " + "\n  ".join(differences) + "\nA resumed run continues the checkpoint's "
            "settings: drop these overrides (the printed resume command already matches), or drop ckpt_path to "
            "train a new run with the new settings."
        )


def _short(spec: Any) -> str:
    if not isinstance(spec, dict):
        return repr(spec)
    target = str(spec.get("_target_", "?")).rsplit(".", 1)[-1]
    rest = ", ".join(f"{k}={v}" for k, v in spec.items() if not k.startswith("_"))
    return f"{target}({rest})"


def launch_overrides() -> list[str]:
    """The command-line overrides of this run (empty when train() is called from Python rather than train.py)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return []
    return list(HydraConfig.get().overrides.task)


def resume_command(checkpoint: str | Path) -> str:
    """The command that continues this run from ``checkpoint``: the same overrides, and ckpt_path."""
    kept = [o for o in launch_overrides() if not o.lstrip("+~").startswith("ckpt_path=")]
    launched = Path(sys.argv[0]).name if sys.argv else ""  # train.py, or the console command aelab-train
    command = (
        [launched]
        if launched.startswith("aelab-")
        else ["python", launched if launched.endswith(".py") else "train.py"]
    )
    parts = [*command, *kept, f"ckpt_path={Path(checkpoint).resolve()}"]
    return " ".join(shlex.quote(p) for p in parts)


def interrupted_message(signal_name: str, saved: Path | None, epoch: int, step: int) -> str:
    if saved is None:
        return f"Training stopped by {signal_name} before the first step; nothing to resume, start it again."
    return (
        f"Training stopped by {signal_name} at epoch {epoch}, step {step}; saved {saved}.\n"
        f"Resume it with:\n  {resume_command(saved)}"
    )
