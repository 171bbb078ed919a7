"""Which ``_target_``s a checkpoint may name: a checkpoint is data, and loading one must not run arbitrary code.

Checkpoints store the model's parts (and the run's data config) as ``{_target_: ...}`` specs that Hydra would build
with any callable it can import (``builtins.open``, ``pathlib.Path.write_text``...). Before anything from a
checkpoint is built, every ``_target_`` in it must name a class of aelab's nets, models or data, or a torch optimizer,
LR scheduler, nn module or torchmetrics metric. Your own classes can be allowed with ``allow_targets("mypkg.")`` or
the ``AELAB_TRUSTED_TARGETS`` environment variable (comma-separated names or prefixes ending in a dot).
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Mapping
from typing import Any

from aelab.errors import CheckpointError

ALLOWED_PREFIXES = ("aelab.nets.", "aelab.models.", "aelab.data.", "torch.optim.", "torch.nn.", "torchmetrics.")
TRUSTED_ENV = "AELAB_TRUSTED_TARGETS"
_extra: set[str] = set()

# Classes that have moved since some checkpoints were written; such checkpoints still load.
MOVED_TARGETS = {
    **{
        f"aelab.data.corruption.{n}": f"aelab.nets.corruption.{n}"
        for n in ("GaussianNoise", "SaltAndPepper", "Masking")
    },
    **{f"aelab.models.sparsity.{n}": f"aelab.models.penalties.{n}" for n in ("L1Activity", "KLSparsity")},
    "aelab.models.sparsity.KSparse": "aelab.models.code_transforms.KSparse",
    "aelab.models.contractive.Contractive": "aelab.models.penalties.Contractive",
    "aelab.models.weight_penalties.ParameterL2": "aelab.models.penalties.ParameterL2",
}


def allow_targets(*names: str) -> None:
    """Also accept these class paths (or prefixes ending in '.') in checkpoints: for models built from your own
    classes. Only do this for code you trust."""
    _extra.update(names)


def _trusted_names() -> set[str]:
    return _extra | {n.strip() for n in os.environ.get(TRUSTED_ENV, "").split(",") if n.strip()}


def _allowed_bases() -> tuple[type, ...]:
    import pytorch_lightning as pl
    import torch

    bases: list[type] = [
        torch.nn.Module,
        torch.optim.Optimizer,
        torch.optim.lr_scheduler.LRScheduler,
        torch.optim.lr_scheduler.ReduceLROnPlateau,
        pl.LightningDataModule,
    ]
    try:
        import torchmetrics

        bases.append(torchmetrics.Metric)
    except ImportError:  # pragma: no cover - torchmetrics is a dependency
        pass
    return tuple(bases)


def _locate(name: str) -> Any:
    """The object at a dotted path; imports only modules under the prefix already checked."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(name)


def check_target(name: Any, where: str) -> None:
    """Raise CheckpointError unless ``name`` is a class a checkpoint may build."""
    trusted = _trusted_names()
    if not isinstance(name, str):
        raise CheckpointError(f"{where}: _target_ must be a class path, got {name!r}; refusing to build it.")
    name = MOVED_TARGETS.get(name, name)
    if name in trusted or any(p.endswith(".") and name.startswith(p) for p in trusted):
        return
    advice = (
        f"A checkpoint may only build aelab's own nets, models and data modules and torch optimizers, schedulers "
        f"and modules. If the class is yours and you trust this file, allow it with {TRUSTED_ENV}={name} "
        "(or aelab.targets.allow_targets)."
    )
    if not name.startswith(ALLOWED_PREFIXES):
        raise CheckpointError(f"{where} names _target_ {name!r}, which is not allowed; refusing it. {advice}")
    try:
        obj = _locate(name)
    except (ImportError, AttributeError) as err:
        raise CheckpointError(f"{where} names _target_ {name!r}, which does not exist ({err}).") from None
    if not (inspect.isclass(obj) and issubclass(obj, _allowed_bases())):
        raise CheckpointError(
            f"{where} names _target_ {name!r}, which is not a model part class; refusing it. {advice}"
        )
    defined = f"{obj.__module__}.{obj.__qualname__}"
    if not defined.startswith(ALLOWED_PREFIXES) or name.rsplit(".", 1)[-1] != obj.__qualname__.rsplit(".", 1)[-1]:
        raise CheckpointError(
            f"{where} names _target_ {name!r}, which leads to {defined}, a class defined outside the allowed "
            f"packages; a checkpoint's classes are matched by where they are defined, not by where they can be "
            f"reached from. Refusing it. {advice}"
        )


def check_targets(spec: Any, where: str) -> None:
    """Walk ``spec`` (nested dicts and lists) and check every ``_target_`` in it; also refuse ``${...}``
    interpolations, which Hydra would resolve (and could decode into new specs) while building."""
    if isinstance(spec, Mapping):
        if "_target_" in spec:
            check_target(spec["_target_"], where)
        for key, value in spec.items():
            check_targets(value, f"{where}.{key}")
    elif isinstance(spec, list | tuple):
        for i, value in enumerate(spec):
            check_targets(value, f"{where}[{i}]")
    elif isinstance(spec, str) and "${" in spec:
        raise CheckpointError(
            f"{where} holds the interpolation {spec!r}; a checkpoint stores resolved values only, so refusing it."
        )
