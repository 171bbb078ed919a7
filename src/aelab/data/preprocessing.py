"""The one preprocessing path: how a data module turns a source image into what the model sees, as a record that
checkpoints store and inference, the encode CLI and export rebuild.

Training images become uint8 (C, H, W): image files through ``decode_image`` (OpenCV, BGR -> RGB, resized with the
recorded mode and interpolation), IDX digits as stored. ``to_unit_float`` then scales them to [0, 1] on the device.
``images_from_files`` and ``images_from_array`` give new images the same treatment, and refuse what training never
saw rather than guess (floats above 1, NaN or inf, complex values, a float image of another size, grayscale for a
colour model). Files that cannot be used (empty, corrupt, cut off, over the pixel limit) are skipped with a reason.
``codes_from_array`` checks the codes given to the decoder alike (real, finite, the latent width).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from aelab.data.decode import (
    MAX_IMAGE_PIXELS,
    UnreadableImage,
    check_decode_options,
    check_max_pixels,
    decode_file,
    read_image,
    resize_image,
)
from aelab.errors import ShapeMismatchError

ROUNDING = 1e-6  # float images this far outside [0, 1] are rounding, clipped rather than refused
# What a too-large file's reason names on the inference path (the data modules name data.max_image_pixels).
INFERENCE_LIMIT_KEY = "the max_pixels argument of images_from_files"


@dataclass(frozen=True)
class Preprocessing:
    """``shape``: the (C, H, W) the model takes. ``source``: "files" (decoded with OpenCV) or "arrays" (uint8 as
    stored, e.g. IDX). ``resize``/``interpolation``: how files (and uint8 arrays of another size) are resized."""

    shape: tuple[int, int, int]
    source: str = "files"
    resize: str = "stretch"
    interpolation: str = "area"
    table: dict[str, Any] | None = None  # source "table": its scaling and column names (data/tables.py)

    def __post_init__(self) -> None:
        check_decode_options(self.resize, self.interpolation)
        if len(self.shape) != 3 or self.shape[0] not in (1, 3):
            raise ValueError(f"a preprocessing shape is (C, H, W) with 1 or 3 channels, got {list(self.shape)}")

    def __hash__(self) -> int:
        return hash((self.shape, self.source, self.resize, self.interpolation))

    @property
    def is_table(self) -> bool:
        return self.source == "table"

    def as_dict(self) -> dict[str, Any]:
        if self.is_table:
            return {"shape": list(self.shape), "source": "table", "table": self.table, "layout": "N11F"}
        record = {k: v for k, v in asdict(self).items() if k != "table"}
        return {**record, "shape": list(self.shape), "scale": "uint8 / 255", "layout": "NCHW", "colour": "RGB"}

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Preprocessing:
        return cls(tuple(int(d) for d in record["shape"]), record.get("source", "files"),
                   record.get("resize", "stretch"), record.get("interpolation", "area"), record.get("table"))  # fmt: skip


class SkippedFile(str):
    """The path of a file that was skipped (it compares and prints as the path), with ``reason``: why. Its repr,
    which a printed list shows, adds the reason."""

    reason: str

    def __new__(cls, path: str | Path, reason: str = "") -> SkippedFile:  # the default lets pickle rebuild it
        skipped = super().__new__(cls, str(path))
        skipped.reason = reason
        return skipped

    def __repr__(self) -> str:
        return f"{str.__repr__(self)} ({self.reason})"


def images_from_files(
    paths: Sequence[str | Path], prep: Preprocessing, max_pixels: int = MAX_IMAGE_PIXELS, key: str = INFERENCE_LIMIT_KEY
) -> tuple[torch.Tensor, list[int], list[str]]:
    """uint8 (N, C, H, W) of the files that decode, the indices of those files, and the paths that did not (as
    ``SkippedFile``: str paths with a ``reason``). Files of more than ``max_pixels`` pixels are refused unread; ``key``
    is the setting their reason says to raise."""
    check_max_pixels(max_pixels, key)
    channels, height, width = prep.shape
    images, kept, skipped = [], [], []
    for i, path in enumerate(paths):
        try:
            if channels == 3 and height == width:
                image = decode_file(Path(path), height, prep.resize, prep.interpolation, max_pixels, key)
            else:
                image = _decode_gray(Path(path), (height, width), prep, max_pixels, key)
        except UnreadableImage as err:
            skipped.append(SkippedFile(path, str(err)))
        else:
            images.append(torch.from_numpy(image))
            kept.append(i)
    empty = torch.empty((0, *prep.shape), dtype=torch.uint8)
    return (torch.stack(images) if images else empty), kept, skipped


def _decode_gray(path: Path, size: tuple[int, int], prep: Preprocessing, max_pixels: int, key: str) -> np.ndarray:
    image = read_image(path, cv2.IMREAD_GRAYSCALE, max_pixels, key)
    return resize_image(image, size, prep.resize, prep.interpolation)[None]


ACCEPTED = (
    "X may be a table (n_samples, n_features) of any numbers, image arrays (numpy or torch) shaped (N, H, W), "
    "(N, H, W, C) or (N, C, H, W), uint8 (0-255) or float in [0, 1], or a list of image file paths"
)


def images_from_array(x: Any, prep: Preprocessing, first: int = 0) -> torch.Tensor:
    """Float images (N, C, H, W) in [0, 1] from an array in any of the ``ACCEPTED`` forms, checked against ``prep``.
    ``first``: the index of x[0] in the caller's X, so a refusal names the image as the caller counts."""
    _, h, w = prep.shape
    array = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if array.is_complex():
        raise TypeError(f"images must be real numbers; got complex values (dtype {array.dtype}). Pass real images, "
                        f"e.g. the magnitude (np.abs) or the real part, uint8 (0-255) or float in [0, 1].")  # fmt: skip
    if array.dtype == torch.bool or not (array.is_floating_point() or array.dtype == torch.uint8):
        raise TypeError(f"images must be uint8 (0-255) or float in [0, 1]; got dtype {array.dtype}. {ACCEPTED}.")
    low, high = 0.0, 0.0
    if array.is_floating_point() and array.numel():
        low, high = (float(v) for v in torch.aminmax(array))  # one pass; NaN propagates into both
    given, array = array, _to_nchw(array, prep)
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(non_finite_message(given, first))  # positions as the caller laid the images out
    if high > 1.0 + ROUNDING or low < -ROUNDING:
        hint = (" They look like 0-255 values: divide by 255 or pass uint8." if low >= 0 and 2.0 < high <= 255.0
                else " Scale them into [0, 1] first; features that are not images go in as a 2-D table "
                     "(n_samples, n_features), which the reducer scales itself.")  # fmt: skip
        raise ValueError(f"float images must lie in [0, 1] as in training; these span [{low:.6g}, {high:.6g}].{hint}")
    if high > 1.0 or low < 0.0:  # float rounding (e.g. MinMaxScaler's 1.0000000000000002)
        array = array.clamp(0.0, 1.0)
    if tuple(array.shape[2:]) != (h, w):
        if array.dtype != torch.uint8:
            raise ValueError(
                f"the model was trained on {h}x{w} images; these are {array.shape[2]}x{array.shape[3]}. Float images "
                "are not resized (training resized the uint8 originals): pass uint8 images or image files, which are "
                "resized as in training, or resize them yourself."
            )
        array = torch.stack([_resize_uint8(img, (h, w), prep) for img in array]) if len(array) else array
    return array.float().div_(255.0) if array.dtype == torch.uint8 else array.float()


def codes_from_array(Z: Any, latent_dim: int) -> torch.Tensor:
    """Codes Z as float32 (n, latent_dim), refusing complex values, the wrong shape, and NaN or inf (named by row and
    column): a decoder given those returns NaN images, or black ones once made uint8."""
    values = Z.detach().cpu() if isinstance(Z, torch.Tensor) else np.asarray(Z)
    if values.is_complex() if isinstance(values, torch.Tensor) else np.iscomplexobj(values):
        raise TypeError(f"codes must be real numbers; got complex values (dtype {values.dtype}). Pass real codes, as "
                        "transform returns them (float32); the imaginary part would otherwise be dropped.")  # fmt: skip
    with np.errstate(over="ignore"):  # float64 beyond float32's range becomes inf, and is named below
        codes = values.float() if isinstance(values, torch.Tensor) else torch.from_numpy(values.astype(np.float32))
    if codes.ndim != 2 or codes.shape[1] != latent_dim:
        raise ShapeMismatchError(f"codes must be (n, {latent_dim}); got {list(codes.shape)}")
    found = first_non_finite(codes)
    if found is not None:
        (row, column), kind, count = found
        given = float(values[row, column])
        kind = f"{given:.3g}, beyond float32's range" if math.isfinite(given) else kind
        raise ValueError(f"Z[{row}, {column}] (row {row}, column {column}) holds {kind}; {count} code values are NaN "
                         "or infinite. Codes must be finite float32 numbers: replace those values or drop those rows.")  # fmt: skip
    return codes


def first_non_finite(values: torch.Tensor) -> tuple[list[int], str, int] | None:
    """The index of the first NaN or inf in ``values``, which it is ("NaN", "inf", "-inf") and how many there are;
    None when all are finite."""
    bad = ~torch.isfinite(values)
    if not bad.any():
        return None
    index = bad.nonzero()[0].tolist()
    value = float(values[tuple(index)])
    return index, "NaN" if math.isnan(value) else "inf" if value > 0 else "-inf", int(bad.sum())


def non_finite_message(array: torch.Tensor, first: int = 0) -> str:
    """Where the first NaN or inf of images ``array`` is (as the caller laid them out), and how many there are."""
    index, kind, count = first_non_finite(array) or ([0], "NaN", 0)
    where = f"pixel {tuple(index[1:])}" if len(index) > 2 else f"value {index[-1]}"
    return (f"X[{first + index[0]}] holds {kind} at {where} ({count} NaN or infinite values in this batch). Images "
            "must be finite: uint8 (0-255) or float in [0, 1]; replace the missing values or drop those images.")  # fmt: skip


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
