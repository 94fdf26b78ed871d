"""One log line per case of a batch (which of how many, how it went) and the time the rest
should take, so that an overnight run's log says how far it got and when it will end."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["case_line", "eta_seconds", "format_duration"]


def eta_seconds(seconds: Sequence[float], remaining: int) -> float | None:
    """Time ``remaining`` cases take at the mean of the ``seconds`` that the cases segmented
    so far took; None before the first."""
    if not seconds:
        return None
    return remaining * sum(seconds) / len(seconds)


def format_duration(seconds: float | None) -> str:
    """``45 s``, ``7 min 05 s``, ``2 h 03 min``: a duration for people, rounded to the nearest
    second below an hour and to the nearest minute above; ``""`` for no duration (None, NaN,
    infinite or negative: an estimate not made yet). The one spelling, also the Slicer panels'."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return ""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"


def case_line(position: int, total: int, outcome: str, remaining: int,
              eta: float | None) -> str:
    """``[3/50] <outcome>; 47 to segment, about 7 min 05 s left`` (``position`` counts from
    1; the tail only while cases remain, its time once one has been timed)."""
    line = f"[{position}/{total}] {outcome}"
    if remaining:
        line += f"; {remaining} to segment" + (
            f", about {format_duration(eta)} left" if eta is not None else "")
    return line
