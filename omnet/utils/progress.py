"""Progress reporting for people (a bar on stderr) and for programs (PROGRESS lines)."""

from __future__ import annotations

import sys
from typing import Protocol, TextIO

from omnet.protocol import format_progress

__all__ = ["BarProgress", "LineProgress", "NullProgress", "ProgressSink", "make_progress"]


class ProgressSink(Protocol):
    """Receives the overall fraction done (0..1) and the current stage name."""

    def __call__(self, fraction: float, stage: str) -> None: ...


class NullProgress:
    def __call__(self, fraction: float, stage: str) -> None:
        return None

    def close(self) -> None:
        return None


class LineProgress:
    """One ``PROGRESS <fraction> <stage>`` line per update, flushed at once."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def __call__(self, fraction: float, stage: str) -> None:
        print(format_progress(fraction, stage), file=self.stream, flush=True)

    def close(self) -> None:
        return None


class BarProgress:
    """A tqdm bar in percent on stderr with the stage as its description."""

    def __init__(self, description: str = "") -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=100, desc=description, unit="%", file=sys.stderr,
                         bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}",
                         leave=True)

    def __call__(self, fraction: float, stage: str) -> None:
        self._bar.set_description_str(stage, refresh=False)
        self._bar.n = round(100 * min(1.0, max(0.0, fraction)), 1)
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()


def make_progress(kind: str, description: str = ""):
    """``bar`` (people), ``lines`` (Slicer, scripts) or ``none``."""
    if kind == "lines":
        return LineProgress()
    if kind == "bar":
        return BarProgress(description)
    if kind == "none":
        return NullProgress()
    raise ValueError(f"unknown progress format {kind!r}; choose bar, lines or none")
