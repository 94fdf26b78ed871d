"""Logging set-up for the command line: messages on stderr, quiet by default."""

from __future__ import annotations

import logging
import sys

__all__ = ["configure_logging"]


class _CurrentStderrHandler(logging.StreamHandler):
    """Writes each record to ``sys.stderr`` as it is when the record is emitted, not to the
    stream of set-up time: a caller that swaps stderr (a test's capture, a notebook, a
    redirect) and closes the old one would otherwise get "I/O operation on closed file"."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_logging(verbosity: int = 0) -> None:
    """0: warnings and our info lines; 1 (-v): info everywhere; 2 (-vv): debug."""
    level = logging.DEBUG if verbosity >= 2 else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", force=True,
                        handlers=[_CurrentStderrHandler()])
    if verbosity == 0:
        for noisy in ("matplotlib", "PIL", "urllib3"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
