"""Logging set-up for the command line: messages on stderr, quiet by default."""

from __future__ import annotations

import logging

__all__ = ["configure_logging"]


def configure_logging(verbosity: int = 0) -> None:
    """0: warnings and our info lines; 1 (-v): info everywhere; 2 (-vv): debug."""
    level = logging.DEBUG if verbosity >= 2 else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", force=True)
    if verbosity == 0:
        for noisy in ("matplotlib", "PIL", "urllib3"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
