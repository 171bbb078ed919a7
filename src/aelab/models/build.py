"""Turn config dicts (``{_target_: ...}``) into objects, surfacing the error that actually happened.

Hydra wraps every exception raised while building in an InstantiationException, nested once per level; the
user's mistake ("latent_dim must be positive") then hides three layers down. ``build`` re-raises the original.
The AutoEncoder stores its parts as such dicts, so checkpoints reload without the Hydra config.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig


def build(spec: Any, **kwargs: Any) -> Any:
    """An object from a ``{_target_: ...}`` mapping; anything else (a ready module) is returned as is."""
    if not isinstance(spec, Mapping | DictConfig):
        return spec
    if "_target_" not in spec:
        raise ValueError(f"cannot build {dict(spec)}: it has no _target_ naming the class to create")
    try:
        return instantiate(spec, _convert_="all", **kwargs)
    except InstantiationException as err:
        cause: BaseException = err
        while isinstance(cause, InstantiationException) and cause.__cause__ is not None:
            cause = cause.__cause__
        if cause is err:
            raise
        raise cause.with_traceback(cause.__traceback__) from None
