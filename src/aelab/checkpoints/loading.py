"""Checkpoints: what one records, the sha256 digest written beside it, and reading it back safely.

Every checkpoint train.py writes gets a ``<file>.sha256`` digest beside it (``DigestCheckpointIO``, set as a trainer
plugin in conf/trainer/default.yaml); loading checks the file against it, so a changed byte (a tampered or half-copied
file) is refused rather than silently loaded. Besides the weights, a checkpoint records the resolved run config (so
evaluate.py can rebuild the same data), the model class (so a VAE is never loaded as a plain AE, or back) and the W&B
run id (so a resumed run continues the same W&B run).

This module sits below the models: they write and check the model class through it, and it names them only as strings.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from lightning_fabric.utilities.cloud_io import get_filesystem
from pytorch_lightning.loggers import WandbLogger
from pytorch_lightning.plugins.io import TorchCheckpointIO
from torch import nn

from aelab.errors import CheckpointError

CONFIG_KEY = "aelab_config"
MODEL_CLASS_KEY = "aelab_model_class"  # which LightningModule class wrote a checkpoint (AutoEncoder, VAE, ...)
DEFAULT_MODEL_CLASS = "aelab.models.autoencoder.AutoEncoder"  # checkpoints written before the key existed
WANDB_RUN_KEY = "aelab_wandb_run_id"  # lets a resumed run continue the same W&B run
DIGEST_SUFFIX = ".sha256"

log = logging.getLogger(__name__)


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


def _is_local(path: str | Path) -> bool:
    protocol = get_filesystem(str(path)).protocol
    return "file" in (protocol if isinstance(protocol, tuple) else (protocol,))


class DigestCheckpointIO(TorchCheckpointIO):
    """torch.save as usual, then ``<path>.sha256``; resume verifies it before torch.load."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None) -> None:
        super().save_checkpoint(checkpoint, path, storage_options)
        if _is_local(path):
            write_digest(path)

    def load_checkpoint(self, path: str | Path, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if _is_local(path) and Path(path).is_file():
            verify_digest(path)
        return super().load_checkpoint(path, *args, **kwargs)

    def remove_checkpoint(self, path: str | Path) -> None:
        super().remove_checkpoint(path)
        if _is_local(path):
            digest_path(path).unlink(missing_ok=True)


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


def load_model(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """The model a checkpoint holds, rebuilt as the class that wrote it, and the checkpoint itself."""
    checkpoint = load_checkpoint(path)
    model_class = model_class_of(checkpoint, path)
    try:
        model = model_class.load_from_checkpoint(path, map_location="cpu", weights_only=True)
    except CheckpointError:
        raise
    except Exception as err:
        raise CheckpointError(
            f"{path} does not hold an aelab AutoEncoder ({type(err).__name__}: {err}); "
            "use a checkpoint written by train.py."
        ) from err
    return model, checkpoint


def class_path(cls: type) -> str:
    """What ``MODEL_CLASS_KEY`` records: the class's import path."""
    return f"{cls.__module__}.{cls.__qualname__}"


def check_model_kind(checkpoint: dict[str, Any], model: nn.Module, where: str | Path) -> None:
    """Raise if ``checkpoint`` (called ``where`` in the message) was written by another kind of model than ``model``:
    a VAE's weights offered to a deterministic AE, or back."""
    saved = checkpoint.get(MODEL_CLASS_KEY)
    if saved is not None and saved != class_path(type(model)):
        raise CheckpointError(
            f"{where} was written by {saved.rsplit('.', 1)[-1]} but the configured model "
            f"'{getattr(model, 'name', '')}' is a {type(model).__name__}: a different kind of model. Pass the model= "
            "it was trained with, or drop ckpt_path to start fresh."
        )


def check_same_model(checkpoint: dict[str, Any], model: nn.Module, path: str | Path) -> None:
    """Raise if the checkpoint's weights do not fit ``model`` (another kind of model, architecture or code size)."""
    check_model_kind(checkpoint, model, path)
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


class ConfigInCheckpoint(pl.Callback):
    """Stores the resolved run config (so evaluate.py can rebuild the same data) and the W&B run id (so a resumed
    run continues the same W&B run) in every checkpoint."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        checkpoint[CONFIG_KEY] = self.config
        wandb_logger = next((lg for lg in trainer.loggers if isinstance(lg, WandbLogger)), None)
        if wandb_logger is not None and trainer.is_global_zero:
            checkpoint[WANDB_RUN_KEY] = wandb_logger.version
