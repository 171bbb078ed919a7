"""A decoded-image cache: one uint8 .npy array (memory-mapped when read) plus a JSON sidecar.

Decoding JPEGs costs far more than a training step of a small net, so images are decoded once, in parallel, and
every epoch reads batches from the memory map. The cache file name carries a key computed from the source
listing (paths, sizes, modification times), the image size and the decode options, so any change rebuilds it.
Both files are written under temporary names and renamed into place, the sidecar last: a build that is killed
half way leaves no file that is taken for a valid cache. Its temporary files (``.<cache file>.<pid>@<host>.tmp``) are
removed by the next build in the folder once that process is gone. Files that do not decode are listed in the
sidecar's "skipped", with why in the parallel "reasons".
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import socket
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from aelab.data.decode import MAX_IMAGE_PIXELS, UnreadableImage, decode_file
from aelab.errors import NotWritableError

log = logging.getLogger(__name__)
CACHE_VERSION = 2  # 2: cut-off JPEG / PNG files and files over the pixel limit are skipped; reasons recorded
# .<cache file>.<pid>[@<host>].tmp (or .compact): the temporary files of a build, named by the process writing them
TEMP_NAME = re.compile(r"^\..+-\d+px-[0-9a-f]{16}\.(?:npy|json)\.(?P<pid>\d+)(?:@(?P<host>.*))?\.(?:tmp|compact)$")
HOST = re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname()) or "host"


@dataclass
class CachedImages:
    """A loaded cache: images (N, 3, S, S) uint8 memory map, labels, the source files, the skipped ones and why."""

    images: np.ndarray
    labels: np.ndarray
    files: list[str]
    skipped: list[str]
    path: Path
    reasons: list[str] = field(default_factory=list)  # parallel to skipped


def cache_key(
    files: Sequence[Path],
    labels: Sequence[int],
    size: int,
    resize: str,
    interpolation: str,
    max_pixels: int = MAX_IMAGE_PIXELS,
) -> str:
    """A digest of everything the cache's content depends on: the listing and the decode options (a raised pixel
    limit admits files the last build skipped)."""
    digest = hashlib.sha256(f"v{CACHE_VERSION}|{size}|{resize}|{interpolation}|{max_pixels}".encode())
    for path, label in zip(files, labels):
        stat = path.stat()
        digest.update(f"{path}|{stat.st_size}|{stat.st_mtime_ns}|{label}\n".encode())
    return digest.hexdigest()[:16]


def load_or_build(
    name: str,
    files: Sequence[Path],
    labels: Sequence[int],
    cache_dir: Path,
    size: int,
    resize: str = "stretch",
    interpolation: str = "area",
    workers: int = 0,
    build: bool = True,
    max_pixels: int = MAX_IMAGE_PIXELS,
) -> CachedImages:
    """The cache of ``files`` decoded at ``size``; built first when missing or stale (and ``build`` is True).
    Files of more than ``max_pixels`` pixels (data.max_image_pixels) are skipped without being decoded."""
    cache_dir = Path(cache_dir)
    key = cache_key(files, labels, size, resize, interpolation, max_pixels)
    array_path = cache_dir / f"{name}-{size}px-{key}.npy"
    meta_path = array_path.with_suffix(".json")
    cached = _open(array_path, meta_path)
    if cached is not None:
        return cached
    if not build:
        raise FileNotFoundError(f"no image cache at {array_path}")
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        remove_dead_temporaries(cache_dir)
        _build(array_path, meta_path, files, labels, size, resize, interpolation, workers, name, max_pixels)
    except OSError as err:
        raise NotWritableError(
            f"cannot write the decoded-image cache {array_path.name} in {cache_dir} ({type(err).__name__}: "
            f"{err.strerror or err}). Set data.cache_dir (or paths.cache_dir) to a folder you can write to, "
            "with room for the decoded images."
        ) from None
    cached = _open(array_path, meta_path)
    assert cached is not None, f"cache {array_path} was just written but cannot be read"
    return cached


def _open(array_path: Path, meta_path: Path) -> CachedImages | None:
    """The cache if both files are there and agree; None otherwise (a stale or half-written cache is ignored)."""
    if not (array_path.is_file() and meta_path.is_file()):
        return None
    try:
        meta = json.loads(meta_path.read_text())
        # mode "c": copy-on-write, so torch can wrap it without a read-only warning and nothing writes back
        images = np.load(array_path, mmap_mode="c")
    except (OSError, ValueError) as err:
        log.warning("ignoring unreadable image cache %s (%s); it will be rebuilt", array_path, err)
        return None
    if meta.get("version") != CACHE_VERSION or list(images.shape) != meta.get("shape"):
        return None
    labels = np.asarray(meta["labels"], dtype=np.int64)
    reasons = meta.get("reasons", [""] * len(meta["skipped"]))
    return CachedImages(images, labels, meta["files"], meta["skipped"], array_path, reasons)


def remove_dead_temporaries(cache_dir: Path) -> list[Path]:
    """Remove the temporary files that builds killed half way (SIGKILL, out of memory, power loss) left in
    ``cache_dir``: each may be as large as the whole cache. A file whose process still runs, or ran on another
    host (a cache folder shared between machines), is kept. Returns the files removed."""
    removed = []
    for path in cache_dir.iterdir():
        match = TEMP_NAME.match(path.name)
        if match is None or match["host"] not in (None, HOST) or process_alive(int(match["pid"])):
            continue
        try:
            path.unlink()
        except FileNotFoundError:  # another build removed it first
            continue
        except OSError as err:
            log.warning("cannot remove %s, left by a killed cache build (%s)", path, err)
            continue
        log.info("removed %s, left by a cache build that was killed (process %s is gone)", path, match["pid"])
        removed.append(path)
    return removed


def process_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine (one of another user counts: it may be a build too)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError):  # not a pid this system could have
        return False
    return True


def _build(array_path, meta_path, files, labels, size, resize, interpolation, workers, name, max_pixels) -> None:
    n = len(files)
    tag = f"{os.getpid()}@{HOST}"
    tmp_array = array_path.with_name(f".{array_path.name}.{tag}.tmp")
    tmp_meta = meta_path.with_name(f".{meta_path.name}.{tag}.tmp")
    try:
        decoded = np.lib.format.open_memmap(tmp_array, mode="w+", dtype=np.uint8, shape=(n, 3, size, size))
        ok = np.zeros(n, dtype=bool)
        reasons = [""] * n

        def work(i: int) -> int:
            try:
                decoded[i] = decode_file(files[i], size, resize, interpolation, max_pixels)
                ok[i] = True
            except UnreadableImage as err:
                reasons[i] = str(err)
            return i

        workers = workers or min(8, os.cpu_count() or 1)
        columns = (TextColumn(f"decoding {name}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, transient=True) as progress, ThreadPoolExecutor(workers) as pool:
            task = progress.add_task("decode", total=n)
            for _ in pool.map(work, range(n)):
                progress.advance(task)
        good = np.flatnonzero(ok)
        if len(good) < n:  # drop the slots of files that did not decode
            compact = np.lib.format.open_memmap(
                tmp_array.with_suffix(".compact"), mode="w+", dtype=np.uint8, shape=(len(good), 3, size, size)
            )
            for start in range(0, len(good), 1024):
                compact[start : start + 1024] = decoded[good[start : start + 1024]]
            compact.flush()
            del decoded, compact
            os.replace(tmp_array.with_suffix(".compact"), tmp_array)
        else:
            decoded.flush()
            del decoded
        meta = {
            "version": CACHE_VERSION,
            "shape": [len(good), 3, size, size],
            "labels": [int(labels[i]) for i in good],
            "files": [str(files[i]) for i in good],
            "skipped": [str(files[i]) for i in np.flatnonzero(~ok)],
            "reasons": [reasons[i] for i in np.flatnonzero(~ok)],
        }
        tmp_meta.write_text(json.dumps(meta))
        os.replace(tmp_array, array_path)
        os.replace(tmp_meta, meta_path)  # last: its presence marks a complete cache
    finally:
        for leftover in (tmp_array, tmp_meta, tmp_array.with_suffix(".compact")):
            leftover.unlink(missing_ok=True)
