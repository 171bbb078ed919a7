"""Building parts from config dicts (``{_target_: ...}``): nets, models, penalties and data modules.

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

from aelab.targets import MOVED_TARGETS


def build(spec: Any, **kwargs: Any) -> Any:
    """An object from a ``{_target_: ...}`` mapping; anything else (a ready module) is returned as is."""
    if not isinstance(spec, Mapping | DictConfig):
        return spec
    if "_target_" not in spec:
        raise ValueError(f"cannot build {dict(spec)}: it has no _target_ naming the class to create")
    if spec["_target_"] in MOVED_TARGETS:
        spec = {**spec, "_target_": MOVED_TARGETS[spec["_target_"]]}
    try:
        return instantiate(spec, _convert_="all", **kwargs)
    except InstantiationException as err:
        cause: BaseException = err
        while isinstance(cause, InstantiationException) and cause.__cause__ is not None:
            cause = cause.__cause__
        if cause is err:
            raise
        raise cause.with_traceback(cause.__traceback__) from None
