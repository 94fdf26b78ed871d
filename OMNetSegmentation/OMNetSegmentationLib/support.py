"""Which Slicer releases the extension supports, and the message for any other (pure).

Slicer 5.8 ships Python 3.9.10; 5.10 and 5.12 ship Python 3.12.10. The ``omnet`` package and
both modules run on Python 3.9 and later, so the oldest supported release is 5.8. The module
panels show :func:`unsupported_message` instead of their controls on Slicer 5.4 and 5.6
(earlier releases lack ``slicer.i18n`` and cannot load the module files at all).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["OLDEST_PYTHON", "OLDEST_SLICER", "SUPPORTED_RELEASES", "unsupported_message"]

#: The releases the extension is built, tested and documented for.
SUPPORTED_RELEASES = ("5.8", "5.10", "5.12")
OLDEST_SLICER = (5, 8)
OLDEST_PYTHON = (3, 9)


def unsupported_message(slicer_version: Sequence[int],
                        python_version: Sequence[int] = tuple(sys.version_info[:2])
                        ) -> str | None:
    """None on a supported Slicer; otherwise one paragraph saying what to install instead."""
    slicer_version = tuple(slicer_version[:2])
    python_version = tuple(python_version[:2])
    if slicer_version >= OLDEST_SLICER and python_version >= OLDEST_PYTHON:
        return None
    oldest = ".".join(map(str, OLDEST_SLICER))
    return (f"OMNet needs 3D Slicer {oldest} or newer (supported: "
            f"{', '.join(SUPPORTED_RELEASES)} and later); this is Slicer "
            f"{'.'.join(map(str, slicer_version))} with Python "
            f"{'.'.join(map(str, python_version))}. Install the current Slicer from "
            "download.slicer.org and add OMNet from its Extensions Manager.")


def show_if_unsupported(layout, slicer_version: Sequence[int], qt) -> bool:
    """On a Slicer this extension does not support, put the reason in ``layout`` (a Qt
    layout; ``qt`` is Slicer's qt module) instead of the panel and return True."""
    problem = unsupported_message(slicer_version)
    if not problem:
        return False
    label = qt.QLabel(problem)
    label.wordWrap = True
    layout.addWidget(label)
    layout.addStretch(1)
    return True
