"""Errors that speak to the user: what was wrong, and what to do about it."""

from __future__ import annotations

import contextlib
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


class DataChangedError(AELabError, ValueError):
    """The data a checkpoint is evaluated on is not the data it was trained and split on."""


# Mistakes in a command line or config surface as these; their messages say what to change.
USER_ERRORS: tuple[type[BaseException], ...] = (AELabError, ValueError, FileNotFoundError, PermissionError)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """For the command-line entry points: a user's mistake ends the run with its message on stderr and exit status
    1, not a stack trace. HYDRA_FULL_ERROR=1 shows the whole trace, as Hydra's own hint says."""
    try:
        yield
    except USER_ERRORS as err:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"error: {err}\n(set HYDRA_FULL_ERROR=1 to see where it was raised)", file=sys.stderr)
        raise SystemExit(1) from None
