"""Errors that speak to the user: what was wrong, and what to do about it."""


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
