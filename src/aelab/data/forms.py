"""The forms an image array can take (files, (N, H, W), (N, H, W, C), (N, C, H, W), flat; uint8 or float; numpy or
torch), so the reducer can read any of them and answer ``inverse_transform`` in the form it was given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from aelab.data.preprocessing import ACCEPTED, Preprocessing


def default_form(prep: Preprocessing) -> dict[str, Any]:
    """How a reducer that was loaded, not fitted, answers: as image files decode, or as float arrays."""
    if prep.source == "files":
        return {"kind": "files", "layout": "nhwc", "dtype": "uint8", "torch": False}
    return {"kind": "array", "layout": "nchw", "dtype": "float", "torch": False}


def input_form(X: Any, tables: bool = False) -> dict[str, Any]:
    """What kind of X this is, so inverse_transform can answer in kind. With ``tables`` (what ``fit`` reads), a
    2-D array or a DataFrame is a table of (n_samples, n_features), not flat images."""
    if isinstance(X, str | Path):
        raise TypeError(f"X is one path ({X}); pass a list of image files. {ACCEPTED}.")
    if isinstance(X, list | tuple) and X and all(isinstance(p, str | Path) for p in X):
        return {"kind": "files", "layout": "nhwc", "dtype": "uint8", "torch": False}
    if tables and (hasattr(X, "columns") or np.asarray(X).ndim <= 2):  # 1-D too: table_values says how to reshape
        return {"kind": "table", "torch": isinstance(X, torch.Tensor)}
    shape = tuple(np.shape(X))
    layout = {2: "flat", 3: "nhw"}.get(len(shape), "nchw")
    if len(shape) == 4 and shape[-1] in (1, 3) and shape[1] not in (1, 3):
        layout = "nhwc"
    dtype = "uint8" if str(getattr(X, "dtype", "")).endswith("uint8") else "float"
    return {"kind": "array", "layout": layout, "dtype": dtype, "torch": isinstance(X, torch.Tensor)}


def guess_shape(array: torch.Tensor) -> tuple[int, int, int]:
    """(C, H, W) of images given without a trained model to say: (N, H, W) is grey, (N, H, W, C) and (N, C, H, W)
    are told apart by which axis has 1 or 3 entries; flat (N, D) must be square grey images."""
    s = tuple(array.shape)
    if len(s) == 3:
        return (1, s[1], s[2])
    if len(s) == 4 and s[1] in (1, 3) and s[3] not in (1, 3):
        return (s[1], s[2], s[3])
    if len(s) == 4 and s[3] in (1, 3):
        return (s[3], s[1], s[2])
    if len(s) == 2 and int(np.sqrt(s[1])) ** 2 == s[1]:
        side = int(np.sqrt(s[1]))
        return (1, side, side)
    raise ValueError(f"cannot tell the image shape of an array shaped {list(s)}. {ACCEPTED}.")


def to_form(images: torch.Tensor, form: dict[str, Any]) -> Any:
    """Float (N, C, H, W) images in [0, 1] laid out and typed like the input described by ``form``."""
    out = images
    if form["layout"] == "flat":
        out = out.flatten(1)
    elif form["layout"] == "nhw":
        out = out[:, 0]
    elif form["layout"] == "nhwc":
        out = out.permute(0, 2, 3, 1)
    if form["dtype"] == "uint8":
        out = (out.clamp(0, 1) * 255).round().to(torch.uint8)
    return out.contiguous() if form.get("torch") else out.contiguous().numpy()
