"""Counts in words: ``1 case``, ``2 cases``, so messages never say "1 cases"."""

from __future__ import annotations

__all__ = ["counted"]


def counted(count: int | str, noun: str, plural: str = "") -> str:
    """``count`` followed by ``noun`` in the number it takes (``plural``, default noun + s);
    a count that is no number (``?``) takes the plural."""
    one = isinstance(count, int) and count == 1
    return f"{count} {noun if one else plural or noun + 's'}"
