"""The synthetic demo case in the scene (Slicer only), so a new user can try the module at once.

``omnet demo --no-segment`` writes the case in a child process (Slicer stays responsive; it
needs only the numpy, scipy and SimpleITK that Slicer ships), then the four sequences are
loaded as people load a case, and the true label map is loaded hidden for comparison.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import slicer

from omnet.data.discovery import find_case_files
from omnet.data.naming import SEQUENCE_ROLES

from .command import demo_arguments
from .job import CANCELLED, JobOutcome
from .logic import TimedJob

__all__ = ["DemoCase", "load_demo_case"]

log = logging.getLogger(__name__)


def load_demo_case(folder: Path) -> dict:
    """Load the case written by ``omnet demo -o folder``: role -> volume node, plus "seg"."""
    case = find_case_files(Path(folder) / "demo", need_seg=True)
    nodes = {role: slicer.util.loadVolume(str(getattr(case, role)), {"show": False})
             for role in SEQUENCE_ROLES}
    nodes["seg"] = slicer.util.loadLabelVolume(str(case.seg), {"show": False})
    slicer.util.setSliceViewerLayers(background=nodes["t1ce"], fit=True)
    return nodes


class DemoCase:
    """Write the demo case in a child process, then load it.

    ``onDone(nodes, message)`` runs once on the main thread: ``nodes`` as returned by
    :func:`load_demo_case`, or None with a message saying why not.
    """

    def __init__(self, onDone: Callable[[dict | None, str], None],
                 onProgress: Callable[[float, str], None] | None = None) -> None:
        self.folder = Path(slicer.util.tempDirectory("OMNetDemo"))
        self.onDone = onDone
        self.nodes: dict | None = None
        self.job = TimedJob(onProgress=onProgress, onFinished=self._finished)

    @property
    def running(self) -> bool:
        return self.job.running

    def start(self) -> None:
        self.job.start(demo_arguments(self.folder), cwd=str(self.folder))

    def cancel(self) -> None:
        self.job.cancel()

    def wait(self, timeoutSeconds: float) -> bool:
        """Process events until the case is loaded or failed (self-test; never from the GUI)."""
        return self.job.wait(timeoutSeconds)

    def _finished(self, outcome: JobOutcome) -> None:
        if outcome.status == CANCELLED or outcome.returncode != 0:
            self.onDone(None, f"The demo case could not be made: {outcome.message}")
            return
        try:
            self.nodes = load_demo_case(self.folder)
        except Exception as error:  # shown to the user; the log keeps the traceback
            log.exception("OMNet: loading the demo case failed")
            self.onDone(None, f"The demo case could not be loaded: {error}")
            return
        self.onDone(self.nodes, "")
