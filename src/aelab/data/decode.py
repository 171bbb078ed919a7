"""Decode one image file with OpenCV, as seed 002 did: BGR -> RGB, resize with INTER_AREA, and refuse hostile files.

``cv2.IMREAD_COLOR`` already turns grayscale, RGBA (alpha dropped) and 16-bit files into 8-bit 3-channel
images, so every file that decodes comes out as uint8 RGB.

Before decoding, the header is checked: a file whose width x height exceeds ``max_pixels`` (a few hundred KB of PNG
can claim 30000x30000 pixels and take gigabytes and half a minute to decode), or a JPEG / PNG whose data stops before
its end marker (libjpeg decodes a cut-off JPEG with a warning on stderr only), is refused with a reason
(``UnreadableImage``) and never reaches OpenCV. The file is read once; the header and OpenCV see the same bytes.
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

INTERPOLATIONS = {
    "area": cv2.INTER_AREA,
    "linear": cv2.INTER_LINEAR,
    "cubic": cv2.INTER_CUBIC,
    "nearest": cv2.INTER_NEAREST,
}
RESIZE_MODES = ("stretch", "center_crop")
MAX_IMAGE_PIXELS = 64_000_000  # 8,000 x 8,000: the default of data.max_image_pixels and of inference on files
LIMIT_KEY = "data.max_image_pixels"
BYTES_PER_PIXEL = 16  # no image format stores more (RGBA float32); a larger file cannot be an image within the limit

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SOI, JPEG_EOI = b"\xff\xd8", b"\xff\xd9"
JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RST0-7 carry no length
JPEG_SOF = {*range(0xC0, 0xD0)} - {0xC4, 0xC8, 0xCC}  # frame headers; C4 (DHT), C8 (JPG), CC (DAC) are not


class UnreadableImage(ValueError):
    """A file that is skipped rather than decoded; the message is the reason listed beside its path."""


def check_decode_options(resize: str, interpolation: str) -> None:
    if resize not in RESIZE_MODES:
        raise ValueError(f"data.resize must be one of {list(RESIZE_MODES)}, got {resize!r}")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"data.interpolation must be one of {sorted(INTERPOLATIONS)}, got {interpolation!r}")


def check_max_pixels(max_pixels: int, key: str = LIMIT_KEY) -> int:
    """``max_pixels`` as a whole number of pixels, 1 or more; a ValueError naming ``key`` otherwise."""
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 1:
        raise ValueError(
            f"{key} must be a whole number of pixels (width x height), 1 or more; got {max_pixels!r}. "
            f"The default {MAX_IMAGE_PIXELS:_} is 8,000 x 8,000."
        )
    return max_pixels


def decode_image(
    path: Path, size: int, resize: str = "stretch", interpolation: str = "area", max_pixels: int = MAX_IMAGE_PIXELS
) -> np.ndarray | None:
    """uint8 (3, size, size) RGB, or None when the file is empty, corrupt, truncated, too large or not an image."""
    try:
        return decode_file(path, size, resize, interpolation, max_pixels)
    except UnreadableImage:
        return None


def decode_file(
    path: Path,
    size: int,
    resize: str = "stretch",
    interpolation: str = "area",
    max_pixels: int = MAX_IMAGE_PIXELS,
    key: str = LIMIT_KEY,
) -> np.ndarray:
    """uint8 (3, size, size) RGB; raises ``UnreadableImage`` saying why the file cannot be used."""
    image = read_image(path, cv2.IMREAD_COLOR, max_pixels, key)
    image = resize_image(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), (size, size), resize, interpolation)
    return np.ascontiguousarray(image.transpose(2, 0, 1))


def read_image(
    path: Path, flags: int = cv2.IMREAD_COLOR, max_pixels: int = MAX_IMAGE_PIXELS, key: str = LIMIT_KEY
) -> np.ndarray:
    """The image OpenCV decodes from ``path`` with ``flags``, after the header checks; ``key`` names the setting
    that raises ``max_pixels`` in the reason an over-large file is refused with."""
    data = read_bytes(path, max_pixels, key)
    check_header(data, max_pixels, key)
    try:
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
    except cv2.error as err:
        raise UnreadableImage(f"OpenCV cannot decode it: {str(err).strip().splitlines()[-1]}") from None
    if image is None or image.size == 0:
        raise UnreadableImage("corrupt or not an image: OpenCV cannot decode it")
    return image


def read_bytes(path: Path, max_pixels: int = MAX_IMAGE_PIXELS, key: str = LIMIT_KEY) -> bytes:
    """The whole file, unless it is empty, unreadable, or larger than any image within the limit could be."""
    try:
        with open(path, "rb") as f:
            length = os.fstat(f.fileno()).st_size
            bound = max_pixels * BYTES_PER_PIXEL + 2**20
            if length > bound:
                raise UnreadableImage(
                    f"{length:,} bytes, more than an image of {max_pixels:,} pixels takes: raise {key} to decode it"
                )
            data = f.read()
    except OSError as err:
        raise UnreadableImage(f"cannot be read ({type(err).__name__}: {err.strerror or err})") from None
    if not data:
        raise UnreadableImage("empty file")
    return data


def check_header(data: bytes, max_pixels: int = MAX_IMAGE_PIXELS, key: str = LIMIT_KEY) -> None:
    """Refuse, without decoding, a cut-off JPEG or PNG and an image of more than ``max_pixels`` pixels."""
    if data.startswith(PNG_SIGNATURE):
        dims = png_dimensions(data)
    elif data.startswith(JPEG_SOI):
        dims = jpeg_dimensions(data)
    else:
        dims = pillow_dimensions(data, max_pixels, key)
    if dims is not None and dims[0] * dims[1] > max_pixels:
        width, height = dims
        raise UnreadableImage(
            f"{width}x{height} = {width * height:,} pixels, over the limit of {max_pixels:,}: raise {key} to decode it"
        )


def png_dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) from IHDR, after walking the chunks by their lengths to IEND: a PNG without one is cut off."""
    pos, dims = len(PNG_SIGNATURE), None
    while True:
        if pos + 8 > len(data):
            raise UnreadableImage("truncated: the PNG data ends before its IEND chunk")
        length, kind = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length  # length, type, data, CRC
        if end > len(data):
            raise UnreadableImage(f"truncated: the PNG data ends inside its {kind.decode('latin-1')!r} chunk")
        if kind == b"IHDR" and length >= 8:
            dims = struct.unpack_from(">II", data, pos + 8)
        if kind == b"IEND":
            return dims
        pos = end


def jpeg_dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the frame header, after walking the segment headers by their lengths from SOI to the first
    scan (so EXIF thumbnails inside APP1 are stepped over); the end marker must follow that scan's start."""
    pos, dims = len(JPEG_SOI), None
    while True:
        pos = data.find(b"\xff", pos)  # markers start with 0xFF; libjpeg, too, skips stray bytes before one
        if pos < 0 or pos + 1 >= len(data):
            raise UnreadableImage("truncated: the JPEG data ends inside its headers")
        marker = data[pos + 1]
        if marker in (0xFF, 0x00):  # fill byte, or a stuffed 0xFF that is no marker
            pos += 1
            continue
        if marker in JPEG_STANDALONE:
            pos += 2
            continue
        if marker == JPEG_EOI[1]:
            raise UnreadableImage("not an image: the JPEG ends before any image data")
        if pos + 4 > len(data):
            raise UnreadableImage("truncated: the JPEG data ends inside its headers")
        end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if end > len(data):
            raise UnreadableImage("truncated: the JPEG data ends inside a header segment")
        if marker in JPEG_SOF and end - pos >= 9:
            height, width = struct.unpack_from(">HH", data, pos + 5)
            dims = (width, height)
        if marker == 0xDA:  # SOS: entropy-coded data follows, where 0xFF 0xD9 only occurs as the end marker
            if data.find(JPEG_EOI, end) < 0:
                raise UnreadableImage("truncated: the JPEG data ends before its end marker (FFD9)")
            return dims
        pos = end


def pillow_dimensions(data: bytes, max_pixels: int = MAX_IMAGE_PIXELS, key: str = LIMIT_KEY) -> tuple[int, int] | None:
    """(width, height) from the header Pillow reads (it decodes nothing yet); None when Pillow does not know the
    format, and OpenCV alone decides."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Image.DecompressionBombError:  # Pillow's own refusal: more than twice its MAX_IMAGE_PIXELS
        pillow_limit = 2 * (Image.MAX_IMAGE_PIXELS or 0)
        if max_pixels <= pillow_limit:
            raise UnreadableImage(
                f"more than {pillow_limit:,} pixels, over the limit of {max_pixels:,}: raise {key} to decode it"
            ) from None
        return None
    except Exception:  # any format Pillow cannot parse is left to OpenCV, whatever Pillow raised
        return None


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
