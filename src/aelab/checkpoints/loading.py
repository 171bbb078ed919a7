"""Reading a checkpoint back safely: its bytes read once and verified (integrity.py), loaded as data
(``weights_only``), and rebuilt from those same checked bytes only from ``_target_``s aelab allows (targets.py), as
the class that wrote it; and the checks that a checkpoint fits a model.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

from torch import nn

from aelab.checkpoints.integrity import read_verified, torch_load_bytes
from aelab.checkpoints.keys import CONFIG_KEY, DEFAULT_MODEL_CLASS, MODEL_CLASS_KEY
from aelab.errors import CheckpointError
from aelab.files import expand_path
from aelab.targets import check_targets


def _missing_message(path: Path) -> str:
    nearby = sorted(Path("outputs").glob("**/checkpoints/*.ckpt"), key=lambda p: p.stat().st_mtime)[-3:]
    hint = "\n  ".join(str(p) for p in nearby) or "(none found under ./outputs)"
    return (
        f"ckpt_path={path} does not exist. A run saves its checkpoints in <run dir>/checkpoints/ "
        f"(last.ckpt and the best epoch). Most recent here:\n  {hint}"
    )


def _not_a_file_message(path: Path) -> str:
    inside = sorted(path.glob("**/*.ckpt"))[:3]
    hint = "\n  ".join(str(p) for p in inside) or "(it holds no .ckpt file)"
    return f"ckpt_path={path} is a folder, not a checkpoint file; pass one of the .ckpt files in it:\n  {hint}"


def read_checked(path: str | Path) -> tuple[dict[str, Any], bytes]:
    """The checkpoint and the bytes it was read from: read once, verified, loaded with ``weights_only=True`` (no code
    runs on load) and every ``_target_`` in it allow-listed. Whatever is built later is built from these bytes."""
    path = expand_path(path)
    if path.is_dir():
        raise CheckpointError(_not_a_file_message(path))
    if not path.is_file():
        raise CheckpointError(_missing_message(path))
    data = read_verified(path)
    try:
        checkpoint = torch_load_bytes(data)
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
    check_targets(checkpoint["hyper_parameters"], f"{path} hyper_parameters")
    check_targets(stored_data_config(checkpoint), f"{path} data config")
    return checkpoint, data


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A Lightning checkpoint of an aelab model, checked as ``read_checked`` says."""
    return read_checked(path)[0]


def stored_data_config(checkpoint: dict[str, Any]) -> dict[str, Any] | None:
    """The data config the checkpoint's run trained on (evaluate.py rebuilds the same data from it)."""
    config = checkpoint.get(CONFIG_KEY)
    return config.get("data") if isinstance(config, dict) else None


def model_class_of(checkpoint: dict[str, Any], path: str | Path) -> type:
    """The aelab LightningModule class that wrote ``checkpoint``; only classes inside aelab are imported."""
    import pytorch_lightning as pl
    from hydra.utils import get_class

    name = checkpoint.get(MODEL_CLASS_KEY, DEFAULT_MODEL_CLASS)
    if not isinstance(name, str) or not name.startswith("aelab.models."):
        raise CheckpointError(f"{path} names the model class {name!r}, which is not an aelab model; refusing it.")
    try:
        cls = get_class(name)
    except Exception:
        cls = None
    if not (isinstance(cls, type) and issubclass(cls, pl.LightningModule)):
        raise CheckpointError(f"{path} names the model class {name!r}, which is not an aelab model; refusing it.")
    return cls


def load_model(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """The model a checkpoint holds, rebuilt as the class that wrote it, and the checkpoint itself."""
    checkpoint, data = read_checked(path)
    model_class = model_class_of(checkpoint, path)
    try:  # from the checked bytes: the file on disk is not read again, so a swapped file cannot slip in
        model = model_class.load_from_checkpoint(io.BytesIO(data), map_location="cpu", weights_only=True)
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
