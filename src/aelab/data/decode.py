"""Decode one image file with OpenCV, as seed 002 did: cv2.imread, BGR -> RGB, resize with INTER_AREA.

``cv2.IMREAD_COLOR`` already turns grayscale, RGBA (alpha dropped) and 16-bit files into 8-bit 3-channel
images, so every file that decodes comes out as uint8 RGB.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

INTERPOLATIONS = {
    "area": cv2.INTER_AREA,
    "linear": cv2.INTER_LINEAR,
    "cubic": cv2.INTER_CUBIC,
    "nearest": cv2.INTER_NEAREST,
}
RESIZE_MODES = ("stretch", "center_crop")


def check_decode_options(resize: str, interpolation: str) -> None:
    if resize not in RESIZE_MODES:
        raise ValueError(f"data.resize must be one of {list(RESIZE_MODES)}, got {resize!r}")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"data.interpolation must be one of {sorted(INTERPOLATIONS)}, got {interpolation!r}")


def decode_image(path: Path, size: int, resize: str = "stretch", interpolation: str = "area") -> np.ndarray | None:
    """uint8 (3, size, size) RGB, or None when the file is empty, corrupt or not an image."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        return None
    image = resize_image(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), (size, size), resize, interpolation)
    return np.ascontiguousarray(image.transpose(2, 0, 1))


def resize_image(image: np.ndarray, size: tuple[int, int], resize: str, interpolation: str) -> np.ndarray:
    """An (H, W[, C]) uint8 image brought to ``size`` (height, width): stretched, or its central square cropped first."""
    if resize == "center_crop":
        height, width = image.shape[:2]
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
        image = image[top : top + side, left : left + side]
    if image.shape[:2] == tuple(size):
        return image
    return cv2.resize(np.ascontiguousarray(image), size[::-1], interpolation=INTERPOLATIONS[interpolation])
