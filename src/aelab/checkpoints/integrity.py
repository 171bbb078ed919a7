"""A checkpoint is whole or refused: the zip archive's CRCs, a sha256 digest beside it, and writes a kill cannot tear.

A PyTorch checkpoint is a zip archive with a CRC-32 per member, so every load first checks all of them: a damaged
copy is refused even when it travels without its digest. ``<file>.sha256`` adds a digest of the whole file.

Saving writes the new digest as ``<file>.sha256.pending``, then the checkpoint (to a temporary file, renamed over the
old one), then renames the pending digest into place. A kill at any point leaves a checkpoint that matches either
``.sha256`` or ``.sha256.pending``; readers accept either, so no whole file is refused and no damaged one accepted.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any

import torch
from lightning_fabric.utilities.cloud_io import get_filesystem
from pytorch_lightning.plugins.io import TorchCheckpointIO

from aelab.errors import CheckpointError
from aelab.files import write_bytes_atomic, write_text_atomic

DIGEST_SUFFIX = ".sha256"
PENDING_SUFFIX = ".pending"

log = logging.getLogger(__name__)


def digest_path(path: str | Path) -> Path:
    return Path(f"{path}{DIGEST_SUFFIX}")


def pending_digest_path(path: str | Path) -> Path:
    return Path(f"{path}{DIGEST_SUFFIX}{PENDING_SUFFIX}")


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: str | Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def digest_line(sha: str, path: str | Path) -> str:
    return f"{sha}  {Path(path).name}\n"


def write_digest(path: str | Path) -> Path:
    """Write ``<path>.sha256`` for the file as it is now (atomically)."""
    return write_text_atomic(digest_path(path), digest_line(file_sha256(path), path))


def _recorded(digest_file: Path) -> str | None:
    try:
        text = digest_file.read_text().split()
    except OSError:
        return None
    return text[0] if text else ""


def _digest_files(path: Path, real: Path) -> list[Path]:
    """Where a checkpoint's digest may lie: beside the path given, and beside the file it resolves to (a symlink's
    target, resolved once, before the read)."""
    places = dict.fromkeys([path, real])
    return [f for p in places for f in (digest_path(p), pending_digest_path(p))]


def verify_digest_of(data: bytes, path: str | Path, real: Path | None = None) -> None:
    """Raise if ``data`` (the bytes read from ``real``, what ``path`` resolved to) match none of the digests beside
    either; warn when there is no digest at all."""
    recorded = {f: _recorded(f) for f in _digest_files(Path(path), real or Path(path).resolve())}
    recorded = {f: sha for f, sha in recorded.items() if sha is not None}
    if not recorded:
        log.warning("%s has no %s digest beside it, so only its archive checksums can be checked", path, DIGEST_SUFFIX)
        return
    actual = sha256_of(data)
    if actual in recorded.values():
        return
    name, expected = next(iter(recorded.items()))
    raise CheckpointError(
        f"{path} does not match the digest written with it ({name}: {expected[:12]}..., file now: "
        f"{actual[:12]}...). The file was changed after training saved it (tampered with, truncated or "
        "half-copied); refusing to load it. Copy it again from its source, or use another checkpoint."
    )


def verify_digest(path: str | Path) -> None:
    """``verify_digest_of`` for the file as it is on disk now."""
    verify_digest_of(Path(path).read_bytes(), path)


def verify_archive_of(data: bytes, path: str | Path) -> None:
    """Raise unless ``data`` is a zip archive (PyTorch's format) whose every member matches its CRC-32."""
    advice = "Copy it again from its source, or use another checkpoint written by train.py."
    if not data:
        raise CheckpointError(f"{path} is empty (0 bytes): it was never written or the copy failed. {advice}")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as err:
        raise CheckpointError(
            f"{path} ({len(data):,} bytes) is not a readable checkpoint archive ({type(err).__name__}: {err}): it "
            f"is truncated, damaged or not a PyTorch checkpoint. {advice}"
        ) from None
    if bad is not None:
        raise CheckpointError(
            f"{path} is damaged: its member {bad} does not match the checksum stored with it (a changed or "
            f"half-copied file); refusing to load it. {advice}"
        )


def verify_archive(path: str | Path) -> None:
    verify_archive_of(Path(path).read_bytes(), path)


def verify_checkpoint_bytes(data: bytes, path: str | Path, real: Path | None = None) -> None:
    """Both checks on one read of the file: the digest (its message names the change), then the archive's CRCs
    (which catch damage in a file copied without its digest)."""
    if not data:
        verify_archive_of(data, path)  # says "empty" rather than "does not match"
    verify_digest_of(data, path, real)
    verify_archive_of(data, path)


def read_verified(path: str | Path) -> bytes:
    """The checkpoint's bytes, read once and checked. Everything built from a checkpoint is built from these bytes:
    a file swapped after the check cannot slip in through a second read. A symlink is resolved once, before the read,
    so the bytes and the digest beside the target belong to the same file."""
    real = Path(path).resolve()
    with open(real, "rb") as f:
        data = f.read()
    verify_checkpoint_bytes(data, path, real)
    return data


def verify_checkpoint_file(path: str | Path) -> None:
    read_verified(path)


def torch_load_bytes(data: bytes, map_location: Any = "cpu", weights_only: bool | None = True) -> Any:
    """``torch.load`` of checked bytes as data (``weights_only``: no code runs)."""
    return torch.load(io.BytesIO(data), map_location=map_location, weights_only=weights_only is not False)


def _is_local(path: str | Path) -> bool:
    protocol = get_filesystem(str(path)).protocol
    return "file" in (protocol if isinstance(protocol, tuple) else (protocol,))


def save_with_digest(checkpoint: dict[str, Any], path: str | Path) -> None:
    """torch.save ``checkpoint`` to ``path`` with its digest, in the kill-safe order described above."""
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    data = buffer.getvalue()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    pending = write_text_atomic(pending_digest_path(path), digest_line(sha256_of(data), path))
    try:
        write_bytes_atomic(path, data)
    except BaseException:  # a full disk or a kill-free failure: the old checkpoint and its digest stay as they were
        pending.unlink(missing_ok=True)
        raise
    os.replace(pending, digest_path(path))


class DigestCheckpointIO(TorchCheckpointIO):
    """Saves with ``save_with_digest``; loads (resume) from one checked read of the file, or from the bytes the run
    already read and checked before training (``use_checked``), so the file is never read a second time."""

    def __init__(self) -> None:
        super().__init__()
        self._checked: dict[Path, bytes] = {}

    def use_checked(self, path: str | Path, data: bytes) -> None:
        """Resume from these checked bytes when Lightning asks for ``path``."""
        self._checked[Path(path).absolute()] = data

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None) -> None:
        if not _is_local(path):
            return super().save_checkpoint(checkpoint, path, storage_options)
        save_with_digest(checkpoint, path)

    def load_checkpoint(
        self, path: str | Path, map_location: Any = lambda storage, loc: storage, weights_only: bool | None = None
    ) -> dict[str, Any]:
        if not _is_local(path):
            return super().load_checkpoint(path, map_location=map_location, weights_only=weights_only)
        data = self._checked.pop(Path(path).absolute(), None)
        if data is None:
            if not Path(path).is_file():
                raise FileNotFoundError(f"Checkpoint file not found: {path}")
            data = read_verified(path)
        return torch_load_bytes(data, map_location, weights_only)

    def remove_checkpoint(self, path: str | Path) -> None:
        super().remove_checkpoint(path)
        if _is_local(path):
            digest_path(path).unlink(missing_ok=True)
            pending_digest_path(path).unlink(missing_ok=True)
