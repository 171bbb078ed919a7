"""Turn the config dicts stored in hyperparameters back into objects, so checkpoints reload without Hydra."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hydra.utils import instantiate


def build(spec: Any) -> Any:
    """An object from a ``{_target_: ..., ...}`` mapping; anything else (a ready module) is returned as is."""
    if isinstance(spec, Mapping):
        if "_target_" not in spec:
            raise ValueError(f"cannot build {dict(spec)}: it has no _target_ naming the class to create")
        return instantiate(spec, _convert_="all")
    return spec
