"""Reading checkpoints safely, and refusing ones that are missing, tampered with or hold another model.

Every checkpoint train.py writes gets a ``<file>.sha256`` digest beside it (see checkpoint_io.py); loading checks
the file against it, so a changed byte (a tampered or half-copied file) is refused rather than silently loaded.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from aelab.errors import CheckpointError

CONFIG_KEY = "aelab_config"
MODEL_CLASS_KEY = "aelab_model_class"  # which LightningModule class wrote a checkpoint (AutoEncoder, VAE, ...)
DEFAULT_MODEL_CLASS = "aelab.models.autoencoder.AutoEncoder"  # checkpoints written before the key existed
WANDB_RUN_KEY = "aelab_wandb_run_id"  # lets a resumed run continue the same W&B run


log = logging.getLogger(__name__)
DIGEST_SUFFIX = ".sha256"


def digest_path(path: str | Path) -> Path:
    return Path(f"{path}{DIGEST_SUFFIX}")


def file_sha256(path: str | Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def write_digest(path: str | Path) -> Path:
    """Write ``<path>.sha256`` (atomically: a temp file renamed into place)."""
    target = digest_path(path)
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    tmp.write_text(f"{file_sha256(path)}  {Path(path).name}\n")
    tmp.replace(target)
    return target


def verify_digest(path: str | Path) -> None:
    """Raise if ``path`` no longer matches the digest written with it; warn when there is no digest."""
    recorded = digest_path(path)
    if not recorded.is_file():
        log.warning("%s has no %s digest beside it, so it cannot be checked for changes", path, DIGEST_SUFFIX)
        return
    expected = recorded.read_text().split()[0] if recorded.read_text().strip() else ""
    actual = file_sha256(path)
    if actual != expected:
        raise CheckpointError(
            f"{path} does not match the digest written with it ({recorded.name}: {expected[:12]}..., file now: "
            f"{actual[:12]}...). The file was changed after training saved it (tampered with, truncated or "
            "half-copied); refusing to load it. Copy it again from its source, or use another checkpoint."
        )


def _missing_message(path: Path) -> str:
    nearby = sorted(Path("outputs").glob("**/checkpoints/*.ckpt"), key=lambda p: p.stat().st_mtime)[-3:]
    hint = "\n  ".join(str(p) for p in nearby) or "(none found under ./outputs)"
    return (
        f"ckpt_path={path} does not exist. A run saves its checkpoints in <run dir>/checkpoints/ "
        f"(last.ckpt and the best epoch). Most recent here:\n  {hint}"
    )


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A Lightning checkpoint of an aelab model, loaded with ``weights_only=True`` (no code runs on load)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(_missing_message(path))
    verify_digest(path)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(
            f"{path} cannot be read as a checkpoint ({type(err).__name__}: {str(err).splitlines()[0]}). "
            "It may be truncated, tampered with, or not a PyTorch file; use a checkpoint written by train.py."
        ) from err
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint or "hyper_parameters" not in checkpoint:
        raise CheckpointError(
            f"{path} is not a Lightning checkpoint of an aelab model (no state_dict / hyper_parameters); "
            "use a checkpoint written by train.py."
        )
    return checkpoint


def model_class_of(checkpoint: dict[str, Any], path: str | Path) -> type:
    """The aelab LightningModule class that wrote ``checkpoint``; only classes inside aelab are imported."""
    from hydra.utils import get_class

    name = checkpoint.get(MODEL_CLASS_KEY, DEFAULT_MODEL_CLASS)
    if not isinstance(name, str) or not name.startswith("aelab.models."):
        raise CheckpointError(f"{path} names the model class {name!r}, which is not an aelab model; refusing it.")
    return get_class(name)


def check_same_model(checkpoint: dict[str, Any], model: nn.Module, path: str | Path) -> None:
    """Raise if the checkpoint's weights do not fit ``model`` (another architecture or code size)."""
    saved_class = checkpoint.get(MODEL_CLASS_KEY)
    wanted_class = f"{type(model).__module__}.{type(model).__qualname__}"
    if saved_class is not None and saved_class != wanted_class:
        raise CheckpointError(
            f"{path} was written by {saved_class.rsplit('.', 1)[-1]} but the configured model "
            f"'{getattr(model, 'name', '')}' is a {type(model).__name__}: a different kind of model. Pass the model= "
            "it was trained with, or drop ckpt_path to start fresh."
        )
    saved = {k: tuple(v.shape) for k, v in checkpoint["state_dict"].items()}
    wanted = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    if saved == wanted:
        return
    saved_name = checkpoint["hyper_parameters"].get("name", "unknown")
    differing = sorted(set(saved) ^ set(wanted)) or sorted(k for k in saved if saved[k] != wanted.get(k))
    raise CheckpointError(
        f"{path} holds a different model ('{saved_name}', {sum(math.prod(s) for s in saved.values()):,} values) "
        f"than the one configured ('{getattr(model, 'name', type(model).__name__)}', "
        f"{sum(math.prod(s) for s in wanted.values()):,} values); first differences: {differing[:4]}. "
        f"Pass the model= and settings it was trained with, or drop ckpt_path to start fresh."
    )


def run_dir_of(checkpoint_path: str | Path) -> Path:
    """The run folder a checkpoint belongs to (<run>/checkpoints/x.ckpt -> <run>)."""
    parent = Path(checkpoint_path).resolve().parent
    return parent.parent if parent.name == "checkpoints" else parent
