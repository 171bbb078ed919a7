"""Build the experiment loggers from config; W&B goes offline by itself when nobody is logged in.

``offline: auto`` on a WandbLogger means: online when WANDB_MODE=online, WANDB_API_KEY, or a ``wandb login``
entry in ~/.netrc says so, offline otherwise. An offline run never asks for a key and never hangs; its folder
can be uploaded later with ``wandb sync``.
"""

from __future__ import annotations

import logging
import netrc
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

import pytorch_lightning as pl
from pytorch_lightning.loggers import Logger, WandbLogger

from aelab.models.build import build

log = logging.getLogger(__name__)
WANDB_TARGETS = {"pytorch_lightning.loggers.WandbLogger", "lightning.pytorch.loggers.WandbLogger"}


def wandb_logged_in() -> bool:
    """Whether W&B credentials are configured, without contacting the server or prompting."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname
    try:
        return netrc.netrc().authenticators(host) is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def resolve_wandb_offline(setting: Any) -> bool:
    """``True``/``False`` as given; ``"auto"``: follow WANDB_MODE, else offline unless logged in."""
    if isinstance(setting, bool):
        return setting
    if setting != "auto":
        raise ValueError(f"logger.wandb.offline must be true, false or auto; got {setting!r}")
    mode = os.environ.get("WANDB_MODE", "").lower()
    if mode in {"offline", "dryrun", "disabled"}:
        return True
    if mode == "online":
        return False
    return not wandb_logged_in()


def instantiate_loggers(config: Mapping[str, Any] | None, wandb_resume_id: str | None = None) -> list[Logger]:
    """Loggers from a ``{name: {_target_: ...}}`` mapping; ``null`` entries are skipped.

    ``wandb_resume_id`` (read from the checkpoint a run resumes from) makes W&B continue that run instead of
    starting a new one, unless the config names a run id itself.
    """
    loggers: list[Logger] = []
    for name, spec in (config or {}).items():
        if spec is None:
            continue
        if "_target_" not in spec:
            raise ValueError(f"logger.{name} has no _target_; see conf/logger/ for examples")
        spec = dict(spec)
        if spec["_target_"] in WANDB_TARGETS:
            spec["offline"] = resolve_wandb_offline(spec.get("offline", "auto"))
            if wandb_resume_id and not spec.get("id"):
                spec["id"], spec["resume"] = wandb_resume_id, "allow"
            if spec["offline"]:
                pl.utilities.rank_zero_info(
                    f"W&B: no login found (or WANDB_MODE=offline), logging offline under {spec.get('save_dir')}/wandb;"
                    " upload later with `wandb sync <run folder>`."
                )
        loggers.append(build(spec))
    return loggers


def finish_wandb(loggers: list[Logger]) -> None:
    """Close the W&B run so the next job of a multirun starts its own run."""
    if any(isinstance(lg, WandbLogger) for lg in loggers):
        import wandb

        if wandb.run is not None:
            wandb.finish()
