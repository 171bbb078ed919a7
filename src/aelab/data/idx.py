"""Reader for the IDX files that MNIST and Fashion-MNIST ship as (gzipped or not)."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

# The third byte of an IDX header names the element type; MNIST-like sets only use unsigned bytes.
_UBYTE = 0x08


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into a uint8 array of the shape its header declares."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            data = handle.read()
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise ValueError(
            f"{path} is truncated or corrupt ({type(err).__name__}: {err or 'the compressed stream ends early'}): "
            "the download or copy did not finish. Delete it and download (or copy) it again."
        ) from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number); re-download it.")
    if data[2] != _UBYTE:
        raise ValueError(f"{path} holds IDX type 0x{data[2]:02x}; only unsigned bytes (0x08) are supported.")
    ndim = data[3]
    header_end = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape))
    if len(data) - header_end != expected:
        raise ValueError(
            f"{path} is truncated: header says {shape} ({expected} bytes), file has {len(data) - header_end}. "
            "Delete it and download it again."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_end).reshape(shape).copy()


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (gzipped when the name ends in .gz); used to make test fixtures."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, _UBYTE, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    opener = gzip.open if Path(path).suffix == ".gz" else open
    with opener(path, "wb") as handle:
        handle.write(header + array.tobytes())
