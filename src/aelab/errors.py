"""Errors that speak to the user: what was wrong, and what to do about it."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Iterator


class AELabError(Exception):
    """Base class for errors whose message is meant to be read by the person running the lab."""


class DataNotFoundError(AELabError, FileNotFoundError):
    """A data set's files are missing and could not be fetched."""


class ShapeMismatchError(AELabError, ValueError):
    """A net and the data (or an encoder and its decoder) disagree on tensor shapes."""


class NonFiniteLossError(AELabError, FloatingPointError):
    """The training loss became NaN or infinite."""


class CheckpointError(AELabError, ValueError):
    """A checkpoint is missing, unreadable, or holds a different model."""


class NotWritableError(AELabError, OSError):
    """A folder the run must write to cannot be written (permissions, a read-only mount, a full disk)."""


class OutputExistsError(AELabError, FileExistsError):
    """An output file is already there and the run was not told to replace it (``overwrite=true``)."""


class DataChangedError(AELabError, ValueError):
    """The data a checkpoint is evaluated on is not the data it was trained and split on."""


# Mistakes in a command line or config surface as these; their messages say what to change.
USER_ERRORS: tuple[type[BaseException], ...] = (AELabError, ValueError, FileNotFoundError, PermissionError)

# Why a write can fail for reasons of the place, not of the data: the user must pick another place or make room.
PLACE_ERRORS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EFBIG: "the file would be larger than the system allows",
}


def user_message(err: BaseException) -> str | None:
    """What to tell the user about ``err``, or None when it is a bug whose trace a developer needs."""
    from omegaconf.errors import MissingMandatoryValue

    if isinstance(err, MissingMandatoryValue):
        key = getattr(err, "full_key", None) or str(err).split(":")[-1].strip()
        return f"{key} is required and has no default: pass it on the command line, e.g. {key}=<value>"
    if isinstance(err, OSError) and err.errno in PLACE_ERRORS and not isinstance(err, AELabError):
        where = f" {err.filename}" if err.filename else ""
        return f"cannot write{where}: {PLACE_ERRORS[err.errno]} ({err.strerror}). Free space or write elsewhere."
    if isinstance(err, USER_ERRORS):
        return str(err)
    return None


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """For the command-line entry points: a user's mistake ends the run with its message on stderr and exit status
    1, not a stack trace. HYDRA_FULL_ERROR=1 shows the whole trace, as Hydra's own hint says."""
    try:
        yield
    except Exception as err:
        message = user_message(err)
        if message is None or os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"error: {message}\n(set HYDRA_FULL_ERROR=1 to see where it was raised)", file=sys.stderr)
        raise SystemExit(1) from None
