"""Exception types whose message is shown to the user as a one-line error."""

from __future__ import annotations


class OMNetError(Exception):
    """Base class: the message is complete and fit to show to a user as is."""


class InputError(OMNetError):
    """An input image or folder is missing, unreadable, or not usable."""


class GeometryError(InputError):
    """Images that must share a grid do not, or a grid is unusable."""


class ModelFileError(OMNetError):
    """A model file is missing, corrupt, tampered with, or not an OMNet model."""


class ModelConfigError(OMNetError, ValueError):
    """A model was asked for with arguments that cannot build it."""


class OutputError(OMNetError):
    """An output cannot be written (a full disk, a drive gone, no permission)."""


class Cancelled(OMNetError):  # noqa: N818 - reads better at the raise site
    """The run was stopped by the user (SIGINT/SIGTERM or a cancel request); the command
    line exits with ``exit_status``: 128 + the signal's number (130 for SIGINT)."""

    exit_status = 130


class OptionalDependencyError(OMNetError):
    """A step needs an optional extra that is not installed; the message says how to add it."""
