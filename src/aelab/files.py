"""Writing files so that a failure (a full disk, a kill, an exception) leaves either the old file or the new one,
never a half-written one: write beside the target under a hidden temporary name, flush to disk, then rename."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from aelab.errors import PLACE_ERRORS, NotWritableError


def expand_path(path: str | os.PathLike) -> Path:
    """``~`` and ``$VARS`` expanded: what a user means by ``data.root=~/my_photos``."""
    return Path(os.path.expandvars(os.path.expanduser(str(path))))


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yields a temporary path beside ``path``; when the block ends without an error it replaces ``path``, otherwise
    it is removed and ``path`` is left as it was."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except OSError as err:
        if err.errno in PLACE_ERRORS and not isinstance(err, NotWritableError):
            raise not_writable(target, err) from err
        raise
    finally:
        with contextlib.suppress(OSError):  # on a read-only file system even a failed unlink raises
            tmp.unlink(missing_ok=True)


def not_writable(path: str | os.PathLike, err: OSError) -> NotWritableError:
    """One clear error for a write that failed because of where it went (full disk, read-only, no permission)."""
    reason = PLACE_ERRORS.get(err.errno or 0, err.strerror or str(err))
    return NotWritableError(
        f"cannot write {path}: {reason} ([Errno {err.errno}] {err.strerror}). Nothing was half-written: any earlier "
        f"file there is as it was. Free some space or fix the permissions of {Path(path).parent}, or write to "
        "another folder."
    )


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    return write_bytes_atomic(path, text.encode())


def write_problem(folder: str | os.PathLike) -> str | None:
    """Why files cannot be created in ``folder`` (made if missing), or None when they can; found by writing one, as
    permissions, read-only mounts and full disks all show only then."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"x")
        probe.unlink()
    except OSError as err:
        return err.strerror or str(err)
    return None


def writable_dir(folder: str | os.PathLike) -> bool:
    """Whether files can be created in ``folder`` (made if missing)."""
    return write_problem(folder) is None
