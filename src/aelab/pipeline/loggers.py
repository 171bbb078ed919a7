"""The run's callbacks and loggers from the config; W&B set up to work offline and to continue a resumed run.

W&B loggers get ``offline: auto``: online when WANDB_MODE=online, WANDB_API_KEY, or a ``wandb login`` entry in
~/.netrc says so, offline otherwise. An offline run never asks for a key and never hangs; its folder can be uploaded
later with ``wandb sync``.
"""

from __future__ import annotations

import netrc
import os
import socket
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from aelab.build import build

if TYPE_CHECKING:
    from pytorch_lightning import Callback
    from pytorch_lightning.loggers import Logger

WANDB_TARGETS = {"pytorch_lightning.loggers.WandbLogger", "lightning.pytorch.loggers.WandbLogger"}


def instantiate_callbacks(config: Mapping[str, Any] | None) -> list[Callback]:
    """Callbacks from a ``{name: {_target_: ...}}`` mapping; set an entry to null to switch it off."""
    return [build(spec) for spec in (config or {}).values() if spec is not None]


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


def wandb_unreachable(timeout: float = 5.0) -> str | None:
    """Why the W&B server cannot be reached (None when it accepts a connection), found out within ~2x ``timeout``
    seconds: wandb itself would wait minutes before failing without a network."""
    url = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai"))
    port = url.port or (443 if url.scheme == "https" else 80)
    outcome: dict[str, str] = {}

    def probe() -> None:
        try:
            socket.create_connection((url.hostname or "", port), timeout=timeout).close()
            outcome["ok"] = ""
        except OSError as err:
            outcome["error"] = f"{type(err).__name__}: {err}"

    thread = threading.Thread(target=probe, daemon=True)  # a hanging DNS lookup is not bound by the socket timeout
    thread.start()
    thread.join(2 * timeout)
    if "ok" in outcome:
        return None
    return f"{url.scheme}://{url.hostname}:{port} " + outcome.get("error", f"did not answer in {2 * timeout:.0f} s")


def instantiate_loggers(config: Mapping[str, Any] | None, wandb_resume_id: str | None = None) -> list[Logger]:
    """Loggers from a ``{name: {_target_: ...}}`` mapping; ``null`` entries are skipped.

    ``wandb_resume_id`` (read from the checkpoint a run resumes from) makes W&B continue that run instead of
    starting a new one, unless the config names a run id itself.
    """
    from pytorch_lightning.utilities import rank_zero_info

    loggers: list[Logger] = []
    for name, spec in (config or {}).items():
        if spec is None:
            continue
        if "_target_" not in spec:
            raise ValueError(f"logger.{name} has no _target_; see conf/logger/ for examples")
        spec = dict(spec)
        if spec["_target_"] in WANDB_TARGETS:
            offline = resolve_wandb_offline(spec.get("offline", "auto"))
            problem = None if offline else wandb_unreachable()
            if problem:
                rank_zero_info(
                    f"W&B: cannot reach the server ({problem}); logging offline under {spec.get('save_dir')}/wandb "
                    "instead. Upload later with `wandb sync <run folder>`; set WANDB_MODE=offline to skip this check."
                )
            elif offline:
                rank_zero_info(
                    f"W&B: no login found (or WANDB_MODE=offline), logging offline under {spec.get('save_dir')}/wandb;"
                    " upload later with `wandb sync <run folder>`."
                )
            spec["offline"] = offline or problem is not None
            if wandb_resume_id and not spec.get("id"):
                spec["id"], spec["resume"] = wandb_resume_id, "allow"
        logger = build(spec)
        init = getattr(logger, "_wandb_init", {})
        if "anonymous" in init and init["anonymous"] is None:  # Lightning passes None, which W&B >= 0.19 warns about
            del init["anonymous"]
        loggers.append(logger)
    return loggers


def finish_wandb(loggers: list[Logger]) -> None:
    """Close the W&B run so the next job of a multirun starts its own run."""
    from pytorch_lightning.loggers import WandbLogger

    if any(isinstance(lg, WandbLogger) for lg in loggers):
        import wandb

        if wandb.run is not None:
            wandb.finish()
