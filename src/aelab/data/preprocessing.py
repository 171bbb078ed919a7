"""The one preprocessing path: how a data module turns a source image into what the model sees, as a record that
checkpoints store and inference, the encode CLI and export rebuild.

Training images become uint8 (C, H, W): image files through ``decode_image`` (OpenCV, BGR -> RGB, resized with the
recorded mode and interpolation), IDX digits as stored. ``to_unit_float`` then scales them to [0, 1] on the device.
``images_from_files`` and ``images_from_array`` give new images the same treatment, and refuse what training never
saw rather than guess (floats above 1, a float image of another size, grayscale for a colour model).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from aelab.data.decode import check_decode_options, decode_image, resize_image


@dataclass(frozen=True)
class Preprocessing:
    """``shape``: the (C, H, W) the model takes. ``source``: "files" (decoded with OpenCV) or "arrays" (uint8 as
    stored, e.g. IDX). ``resize``/``interpolation``: how files (and uint8 arrays of another size) are resized."""

    shape: tuple[int, int, int]
    source: str = "files"
    resize: str = "stretch"
    interpolation: str = "area"

    def __post_init__(self) -> None:
        check_decode_options(self.resize, self.interpolation)
        if len(self.shape) != 3 or self.shape[0] not in (1, 3):
            raise ValueError(f"a preprocessing shape is (C, H, W) with 1 or 3 channels, got {list(self.shape)}")

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "shape": list(self.shape), "scale": "uint8 / 255", "layout": "NCHW", "colour": "RGB"}

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Preprocessing:
        return cls(tuple(int(d) for d in record["shape"]), record.get("source", "files"),
                   record.get("resize", "stretch"), record.get("interpolation", "area"))  # fmt: skip


def images_from_files(paths: Sequence[str | Path], prep: Preprocessing) -> tuple[torch.Tensor, list[int], list[str]]:
    """uint8 (N, C, H, W) of the files that decode, the indices of those files, and the paths that did not."""
    channels, height, width = prep.shape
    images, kept, skipped = [], [], []
    for i, path in enumerate(paths):
        if channels == 3 and height == width:
            image = decode_image(Path(path), height, prep.resize, prep.interpolation)
        else:
            image = _decode_gray(Path(path), (height, width), prep)
        if image is None:
            skipped.append(str(path))
        else:
            images.append(torch.from_numpy(image))
            kept.append(i)
    empty = torch.empty((0, *prep.shape), dtype=torch.uint8)
    return (torch.stack(images) if images else empty), kept, skipped


def _decode_gray(path: Path, size: tuple[int, int], prep: Preprocessing) -> np.ndarray | None:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None or image.size == 0:
        return None
    return resize_image(image, size, prep.resize, prep.interpolation)[None]


ACCEPTED = (
    "X may be image arrays (numpy or torch) shaped (N, H, W), (N, H, W, C), (N, C, H, W) or flat (N, C*H*W), uint8 "
    "(0-255) or float in [0, 1], or a list of image file paths"
)


def images_from_array(x: Any, prep: Preprocessing) -> torch.Tensor:
    """Float images (N, C, H, W) in [0, 1] from an array in any of the ``ACCEPTED`` forms, checked against ``prep``."""
    _, h, w = prep.shape
    array = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if array.dtype == torch.bool or not (array.is_floating_point() or array.dtype == torch.uint8):
        raise TypeError(f"images must be uint8 (0-255) or float in [0, 1]; got dtype {array.dtype}. {ACCEPTED}.")
    array = _to_nchw(array, prep)
    if array.is_floating_point():
        low, high = float(array.min()) if array.numel() else 0.0, float(array.max()) if array.numel() else 0.0
        if high > 1.0 or low < 0.0:
            hint = " They look like 0-255 values: divide by 255 or pass uint8." if high > 1.0 else ""
            raise ValueError(
                f"float images must lie in [0, 1] as in training; these span [{low:.3g}, {high:.3g}].{hint}"
            )
    if tuple(array.shape[2:]) != (h, w):
        if array.dtype != torch.uint8:
            raise ValueError(
                f"the model was trained on {h}x{w} images; these are {array.shape[2]}x{array.shape[3]}. Float images "
                "are not resized (training resized the uint8 originals): pass uint8 images or image files, which are "
                "resized as in training, or resize them yourself."
            )
        array = torch.stack([_resize_uint8(img, (h, w), prep) for img in array]) if len(array) else array
    return array.float().div_(255.0) if array.dtype == torch.uint8 else array.float()


def _to_nchw(array: torch.Tensor, prep: Preprocessing) -> torch.Tensor:
    c, h, w = prep.shape
    expected = f"(N, {h}, {w})" * (c == 1) + f" (N, {h}, {w}, {c}), (N, {c}, {h}, {w}) or (N, {c * h * w})"
    if array.ndim == 2:
        if array.shape[1] != c * h * w:
            raise ValueError(f"flat images need {c * h * w} values each (C*H*W of {list(prep.shape)}); got "
                             f"{array.shape[1]}. Expected {expected.strip()}.")  # fmt: skip
        return array.reshape(-1, c, h, w)
    if array.ndim == 3:
        if c != 1:
            raise ValueError(f"(N, H, W) arrays are single-channel, but the model takes {c} channels; pass "
                             f"(N, H, W, {c}) or (N, {c}, H, W).")  # fmt: skip
        return array[:, None]
    if array.ndim == 4:
        if array.shape[1] == c and array.shape[3] != c:
            return array
        if array.shape[3] == c and array.shape[1] != c:
            return array.permute(0, 3, 1, 2).contiguous()
        if array.shape[1] == c and array.shape[3] == c:  # e.g. (N, 3, H, 3): trust the trained size, else refuse
            if tuple(array.shape[2:]) == (h, w):
                return array
            if tuple(array.shape[1:3]) == (h, w):
                return array.permute(0, 3, 1, 2).contiguous()
        raise ValueError(f"images of shape {list(array.shape)} have no axis of {c} channels (the model's); "
                         f"expected {expected.strip()}.")  # fmt: skip
    raise ValueError(f"images of shape {list(array.shape)}: expected {expected.strip()}. {ACCEPTED}.")


def _resize_uint8(image: torch.Tensor, size: tuple[int, int], prep: Preprocessing) -> torch.Tensor:
    """One uint8 (C, H, W) image resized as training resized files (mode and interpolation of ``prep``)."""
    out = resize_image(image.permute(1, 2, 0).numpy(), size, prep.resize, prep.interpolation)
    return torch.from_numpy(np.ascontiguousarray(out).reshape(*size, -1)).permute(2, 0, 1)


def preprocessing_of(record: dict[str, Any] | None, data_config: dict[str, Any] | None) -> Preprocessing:
    """The preprocessing a checkpoint recorded; for checkpoints older than the record, derived from its data config."""
    if record:
        return Preprocessing.from_dict(record)
    data = data_config or {}
    target = str(data.get("_target_", ""))
    if target.endswith(("ImageFolderDataModule", "IntelDataModule")):
        size = int(data.get("image_size", 128))
        return Preprocessing((3, size, size), "files", data.get("resize", "stretch"), data.get("interpolation", "area"))
    if data.get("shape"):
        return Preprocessing(tuple(int(d) for d in data["shape"]), "arrays")
    raise ValueError("the checkpoint records neither its preprocessing nor a data config to derive it from")
