"""Follow one ``omnet`` child process: progress, metrics, log, and a readable outcome (pure).

:meth:`JobMonitor.poll` is called periodically (a ``qt.QTimer`` in Slicer, a loop in tests);
it drains the runner's lines, parses them with :func:`omnet.protocol.parse_line` and calls
the callbacks on the caller's thread.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from omnet.inference.batch_progress import format_duration
from omnet.protocol import parse_line

from .process import ProcessRunner

__all__ = ["JobMonitor", "JobOutcome", "eta_seconds", "format_duration", "killed_text",
           "readable_failure"]

SUCCEEDED, FAILED, CANCELLED = "succeeded", "failed", "cancelled"
#: How omnet exits when a signal stopped it: 128 + SIGINT, 128 + SIGTERM.
_STOPPED_STATUSES = (128 + signal.SIGINT, 128 + signal.SIGTERM)
_LOG_LIMIT = 5000

# (text found in the log, message for people); the first match wins.
_KNOWN_FAILURES = (
    ("No module named 'torch'",
     "PyTorch is not installed in Slicer's Python. Click 'Install dependencies' (or run the "
     "module again and accept the installation)."),
    ("No module named 'omnet'",
     "The omnet package was not found by Slicer's Python; reinstall the OMNet extension."),
    ("No module named",
     "A Python package OMNet needs is missing; accept the installation of dependencies."),
    ("CUDA out of memory",
     "The GPU ran out of memory. Choose 'CPU' as device, or close other GPU programs."),
    ("MemoryError", "The computer ran out of memory. Close other programs and try again."),
)


@dataclass
class JobOutcome:
    """How a run ended: status, the RESULT data on success, a message and details otherwise."""

    status: str
    returncode: int | None
    result: dict[str, Any] | None = None
    message: str = ""
    details: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCEEDED

    @property
    def warnings(self) -> str:
        """What a finished run asks a person to check before trusting it (the RESULT's
        ``warnings``), one sentence a line for a dialog; empty when nothing."""
        lines = (self.result or {}).get("warnings") or []
        return "\n".join(f"{line[:1].upper()}{line[1:]}." for line in lines)


def eta_seconds(fraction: float, elapsed: float) -> float | None:
    """Remaining time if progress keeps its average pace; None before there is a pace."""
    if fraction <= 0.02 or elapsed <= 0:
        return None
    return elapsed * (1.0 - min(fraction, 1.0)) / fraction


def killed_text(number: int) -> str:
    """Why a child ended by signal ``number`` stopped; its last log line says nothing about
    it (a training run's was often 'tensorboard is not installed')."""
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    text = f"omnet was ended by {name} (exit status {-number})"
    if name == "SIGKILL":
        text += ("; the system does this when memory runs out: close other programs and try "
                 "again")
    return text


def readable_failure(error_line: str | None, log: Sequence[str], returncode: int | None) -> str:
    """One message for people from the child's ERROR line, or failing that from its log (or
    the signal that ended it)."""
    if error_line:
        return error_line
    text = "\n".join(log)
    for needle, message in _KNOWN_FAILURES:
        if needle in text:
            return message
    if returncode is not None and returncode < 0:
        return killed_text(-returncode)
    last = next((line.strip() for line in reversed(log) if line.strip()), "")
    if returncode == 0:
        return "omnet finished without reporting a result" + (f": {last}" if last else "")
    return f"omnet stopped with exit status {returncode}" + (f": {last}" if last else "")


class JobMonitor:
    """State and callbacks of one child process run.

    Callbacks: ``on_progress(fraction, stage)``, ``on_log(line)``, ``on_metric(data)``,
    ``on_finished(outcome)``; all optional, all called from :meth:`poll`.

    ``keep_late_result``: a run that reported its RESULT and exited 0 after a stop was asked
    succeeded (``omnet train`` stopped in its final validation still exports the trained
    model, worth offering). False makes any stop win: a segmentation cancelled because the
    scene closes while its child ends must not import its result into the next scene.
    """

    def __init__(self, runner: ProcessRunner,
                 on_progress: Callable[[float, str], None] | None = None,
                 on_log: Callable[[str], None] | None = None,
                 on_metric: Callable[[dict[str, Any]], None] | None = None,
                 on_finished: Callable[[JobOutcome], None] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 keep_late_result: bool = True) -> None:
        self.runner = runner
        self.keep_late_result = keep_late_result
        self.on_progress, self.on_log = on_progress, on_log
        self.on_metric, self.on_finished = on_metric, on_finished
        self.clock = clock
        self.fraction = 0.0
        self.stage = ""
        self.log: list[str] = []
        self.result: dict[str, Any] | None = None
        self.error: str | None = None
        self.outcome: JobOutcome | None = None
        self._started_at: float | None = None
        self._cancel_requested = False

    def start(self, argv: Sequence[str], env: Mapping[str, str] | None = None,
              cwd: str | None = None) -> None:
        self._started_at = self.clock()
        self.runner.start(argv, env=env, cwd=cwd)

    @property
    def running(self) -> bool:
        return self._started_at is not None and self.outcome is None

    @property
    def elapsed(self) -> float:
        return 0.0 if self._started_at is None else self.clock() - self._started_at

    def eta(self) -> float | None:
        return eta_seconds(self.fraction, self.elapsed)

    def cancel(self) -> None:
        """Ask the child to stop; the outcome (cancelled) arrives through :meth:`poll`."""
        if self.running and not self._cancel_requested:
            self._cancel_requested = True
            self.runner.cancel()

    def poll(self) -> bool:
        """Handle what the child wrote since the last call; False once the run is over."""
        if self.outcome is not None:
            return False
        for line in self.runner.read_lines():
            self._handle(line)
        if not self.runner.finished():
            return True
        for line in self.runner.read_lines():  # lines queued after the last check
            self._handle(line)
        self.outcome = self._conclude(self.runner.returncode)
        if self.on_finished:
            self.on_finished(self.outcome)
        return False

    def _handle(self, line: str) -> None:
        event = parse_line(line)
        if event.kind == "progress":
            self.fraction, self.stage = event.fraction or 0.0, event.stage
            if self.on_progress:
                self.on_progress(self.fraction, self.stage)
            return
        if event.kind == "metric":
            if self.on_metric:
                self.on_metric(event.data or {})
            return
        if event.kind == "result":
            self.result = event.data
        elif event.kind == "error":
            self.error = event.text
        self.log.append(line)
        del self.log[:-_LOG_LIMIT]
        if self.on_log:
            self.on_log(line)

    def _conclude(self, returncode: int | None) -> JobOutcome:
        details = "\n".join(self.log[-200:])
        # a run that reported its result and exit 0 succeeded even when a stop came late
        # (omnet train stopped in its final validation still exports the trained model),
        # unless the caller wants any stop to win (see the class docstring)
        late = self._cancel_requested and not self.keep_late_result
        if returncode == 0 and self.result is not None and not late:
            return JobOutcome(SUCCEEDED, returncode, result=self.result, details=details)
        if self._cancel_requested:
            return JobOutcome(CANCELLED, returncode, message="Stopped by the user.",
                              details=details)
        if returncode in _STOPPED_STATUSES:
            return JobOutcome(CANCELLED, returncode, message="The run was interrupted.",
                              details=details)
        message = readable_failure(self.error, self.log, returncode)
        return JobOutcome(FAILED, returncode, result=self.result, message=message,
                          details=details)
