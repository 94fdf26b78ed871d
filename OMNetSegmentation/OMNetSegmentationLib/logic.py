"""Child processes inside Slicer: a timer-driven job, and one segmentation run (Slicer only).

The child is followed by a ``qt.QTimer`` on the main thread that drains the reader thread's
queue (:class:`.job.JobMonitor`), so Slicer stays responsive. A segmentation run changes the
scene only after the child succeeded; a cancelled or failed run leaves it as it was.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import qt
import slicer

from . import scene
from .command import (
    SegmentOptions,
    child_environment,
    omnet_search_path,
    python_command,
    segment_arguments,
)
from .job import FAILED, JobMonitor, JobOutcome
from .lesions import read_lesions
from .names import RUN_SUFFIX_ATTRIBUTE, result_part_name, segmentation_name
from .process import SubprocessRunner

__all__ = ["RunResult", "SegmentationRun", "TimedJob"]

log = logging.getLogger(__name__)
POLL_MS = 150


class TimedJob:
    """``python -m omnet ...`` in a child process, followed from a ``qt.QTimer``.

    Callbacks (all optional) run on the main thread: ``onProgress(fraction, stage)``,
    ``onLog(line)``, ``onMetric(data)``, ``onFinished(outcome)``. ``graceSeconds`` is how
    long a cancelled child may take to stop cleanly (omnet finishes the current step and
    removes partial files, training writes a checkpoint) before it is killed.
    ``keepLateResult`` is :class:`.job.JobMonitor`'s ``keep_late_result``: whether a result
    the child reports after a cancel still counts as a success.
    """

    def __init__(self, onProgress: Callable[[float, str], None] | None = None,
                 onLog: Callable[[str], None] | None = None,
                 onMetric: Callable[[dict[str, Any]], None] | None = None,
                 onFinished: Callable[[JobOutcome], None] | None = None,
                 graceSeconds: float = 10.0, keepLateResult: bool = True) -> None:
        self.runner = SubprocessRunner(grace_seconds=graceSeconds)
        self.monitor = JobMonitor(self.runner, on_progress=onProgress, on_log=onLog,
                                  on_metric=onMetric, on_finished=onFinished,
                                  keep_late_result=keepLateResult)
        self.timer = qt.QTimer()
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self._poll)

    @property
    def running(self) -> bool:
        return self.monitor.running

    def start(self, omnetArguments: Sequence[str], cwd: str | None = None) -> None:
        """Start ``<Slicer's Python> -m omnet <arguments>``."""
        self.startPython(["-m", "omnet", *omnetArguments],
                         env=child_environment(os.environ, omnet_search_path()), cwd=cwd)

    def startPython(self, arguments: Sequence[str], env: Mapping[str, str] | None = None,
                    cwd: str | None = None) -> None:
        """Start ``<Slicer's Python> <arguments>`` (``-m pip install ...`` for installs)."""
        argv = [*python_command(in_slicer=True), *arguments]
        log.info("OMNet: %s", " ".join(argv))
        self.monitor.start(argv, env=env, cwd=cwd)
        self.timer.start()

    def cancel(self) -> None:
        self.monitor.cancel()

    def wait(self, timeoutSeconds: float) -> bool:
        """Process events until the job ends (self-tests and scripts; never from the GUI)."""
        deadline = time.monotonic() + timeoutSeconds
        while self.monitor.outcome is None and time.monotonic() < deadline:
            slicer.app.processEvents()
            time.sleep(0.05)
        return self.monitor.outcome is not None

    def _poll(self) -> None:
        if not self.monitor.poll():
            self.timer.stop()


class RunResult:
    """What a finished run produced: the outcome and, on success, the new nodes."""

    def __init__(self, outcome: JobOutcome, segmentation=None, attention=(),
                 lesions: dict | None = None) -> None:
        self.outcome = outcome
        self.segmentation = segmentation
        self.attention = list(attention)
        self.lesions = lesions  # the report's per-lesion section (omnet.measurement)


class SegmentationRun:
    """Segment one case with ``omnet segment`` and put the result into the scene.

    Args:
        volumes: role -> volume node for flair, t1, t1ce, t2.
        options: model, device, mode, post-processing, attention maps.
        target: an existing segmentation node to update, or None for a new node.
        show3D: build and show surfaces in 3D.
        onProgress: ``(fraction, stage, seconds_left)``; onLog: each free-text line;
        onDone: ``(RunResult)`` once, after the run ended and the scene was updated.
    """

    def __init__(self, volumes: Mapping[str, object], options: SegmentOptions, target=None,
                 show3D: bool = True,
                 onProgress: Callable[[float, str, float | None], None] | None = None,
                 onLog: Callable[[str], None] | None = None,
                 onDone: Callable[[RunResult], None] | None = None) -> None:
        self.volumes, self.options = dict(volumes), options
        self.target, self.show3D = target, show3D
        self.onProgress, self.onDone = onProgress, onDone
        self.workdir = Path(slicer.util.tempDirectory("OMNet"))
        # a cancel wins over a result the child reports as it ends: the scene-close handler
        # cancels, and an import then would fill the next, empty scene
        self.job = TimedJob(onProgress=self._progress, onLog=onLog, onFinished=self._finished,
                            keepLateResult=False)
        self.result: RunResult | None = None

    @property
    def running(self) -> bool:
        return self.job.running

    @property
    def monitor(self) -> JobMonitor:
        return self.job.monitor

    def start(self) -> None:
        inputs = scene.write_volumes(self.volumes, self.workdir / "inputs")
        arguments = segment_arguments(inputs, self.workdir / "labels.nii.gz", self.options,
                                      attention_dir=self.workdir / "attention",
                                      report=self.workdir / "report.json")
        self.job.start(arguments, cwd=str(self.workdir))

    def cancel(self) -> None:
        self.job.cancel()

    def wait(self, timeoutSeconds: float) -> RunResult | None:
        """Process events until the run ends (self-test and scripts; never from the GUI)."""
        self.job.wait(timeoutSeconds)
        return self.result

    def _progress(self, fraction: float, stage: str) -> None:
        if self.onProgress:
            self.onProgress(fraction, stage, self.job.monitor.eta())

    def _finished(self, outcome: JobOutcome) -> None:
        shutil.rmtree(self.workdir / "inputs", ignore_errors=True)
        result = RunResult(outcome)
        if outcome.succeeded:
            try:
                result = self._import(outcome)
            except Exception as error:  # the child succeeded but Slicer could not use it
                log.exception("OMNet: importing the result failed")
                result = RunResult(JobOutcome(FAILED, outcome.returncode, result=outcome.result,
                                              message=f"Could not load the result: {error}",
                                              details=outcome.details))
        if not result.attention:  # attention volumes keep their files; nothing else is needed
            shutil.rmtree(self.workdir, ignore_errors=True)
        self.result = result
        if self.onDone:
            self.onDone(result)

    def _resolve(self, path: str | os.PathLike) -> Path:
        """A path the child reported, relative to its working folder unless absolute."""
        return Path(path) if Path(path).is_absolute() else self.workdir / path

    def _import(self, outcome: JobOutcome) -> RunResult:
        data = outcome.result or {}
        reference = self.volumes["t1ce"]
        name = segmentation_name(scene.patient_name(reference),
                                 [node.GetName() for node in self.volumes.values()],
                                 reference.GetName())
        labels = self._resolve(data.get("output") or "labels.nii.gz")
        segmentation = scene.import_segmentation(
            labels, reference, name, target=self.target,
            onNetworkGrid=data.get("output_grid") == "network")
        scene.store_volumes(segmentation, data.get("volumes_ml") or {})
        scene.show_segmentation(segmentation, reference, self.show3D)
        attention = []
        if self.options.attention and data.get("attention"):
            try:  # the segmentation is the result; missing maps must not lose it
                attention = self._load_attention(data["attention"], segmentation)
            except Exception:
                log.exception("OMNet: loading the attention maps failed")
        return RunResult(outcome, segmentation, attention, lesions=read_lesions(
            self.workdir / "report.json"))

    def _load_attention(self, paths: Sequence[str], segmentation) -> list:
        """Load this run's attention maps for ``segmentation``; when the run updated an
        existing result, the maps its earlier runs loaded are removed once the new ones are
        in (a failed load keeps them), so the result has one set of maps, not one per run."""
        suffix = segmentation.GetAttribute(RUN_SUFFIX_ATTRIBUTE) or ""
        attention = scene.load_attention_maps(
            [self._resolve(path) for path in paths], self.volumes["t1ce"],
            result_part_name(segmentation.GetName(), suffix, "attention maps"), suffix,
            owner=segmentation)
        if self.target is not None:
            removed = scene.remove_attention_maps(segmentation, keep=attention)
            log.info("OMNet: replaced %d attention maps of the earlier run", removed)
        return attention
