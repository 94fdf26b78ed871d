"""Machine-readable lines between ``omnet`` commands and the Slicer modules (torch-free).

With ``--progress-format lines`` a command prints one line per event on stdout:

- ``PROGRESS <fraction 0..1> <stage words>`` (segment and train),
- ``METRIC <json object>`` (train: per-step losses, validation Dice, ETA),
- ``RESULT <json object>`` (final outputs: paths, volumes, model file),
- ``ERROR <one-line message>`` (also on stderr, just before a non-zero exit).

Anything else on stdout or stderr is free text for a log box.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

__all__ = ["Event", "format_error", "format_metric", "format_progress", "format_result",
           "parse_line"]


@dataclass(frozen=True)
class Event:
    """One parsed line: ``kind`` is progress, metric, result, error or text."""

    kind: str
    fraction: float | None = None
    stage: str = ""
    data: dict[str, Any] | None = None
    text: str = ""


def format_progress(fraction: float, stage: str) -> str:
    fraction = min(1.0, max(0.0, float(fraction)))
    return f"PROGRESS {fraction:.4f} {' '.join(stage.split())}"


def format_metric(data: dict[str, Any]) -> str:
    return "METRIC " + json.dumps(data, separators=(",", ":"), allow_nan=False, default=float)


def format_result(data: dict[str, Any]) -> str:
    return "RESULT " + json.dumps(data, separators=(",", ":"), allow_nan=False, default=str)


def format_error(message: str) -> str:
    return "ERROR " + " ".join(str(message).split())


def parse_line(line: str) -> Event:
    """Parse one output line; malformed protocol lines come back as plain text."""
    line = line.rstrip("\r\n")
    head, _, rest = line.partition(" ")
    try:
        if head == "PROGRESS":
            value, _, stage = rest.partition(" ")
            fraction = float(value)
            if math.isfinite(fraction) and 0.0 <= fraction <= 1.0:
                return Event("progress", fraction=fraction, stage=stage.strip())
        elif head in ("METRIC", "RESULT"):
            data = json.loads(rest)
            if isinstance(data, dict):
                return Event(head.lower(), data=data)
        elif head == "ERROR":
            return Event("error", text=rest.strip())
    except ValueError:
        pass
    return Event("text", text=line)
