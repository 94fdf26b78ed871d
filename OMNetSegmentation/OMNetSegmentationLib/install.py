"""Install what ``omnet`` needs into Slicer's Python, after asking (Slicer only).

The decisions are in :mod:`.dependencies` (tested outside Slicer); this file only asks the
user and calls the PyTorch extension and pip. The panel's pip installs run as a child
process (:class:`PipInstall`), followed from a timer like a segmentation run:
``slicer.util.pip_install`` processes events only between pip's output lines, so a download
that prints nothing for minutes (HD-BET, about 330 MB) would hold Slicer frozen.
"""

from __future__ import annotations

import importlib
import logging
import os
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import slicer

from .dependencies import (
    OMNET_REQUIREMENTS,
    SKULLSTRIP_REQUIREMENTS,
    SLICER_SHIPPED,
    InstallPlan,
    describe_plan,
    installed_versions,
    parse_requirement,
    pip_failure_text,
    pip_install_arguments,
    plan_install,
)
from .job import CANCELLED, FAILED, SUCCEEDED, JobOutcome
from .logic import TimedJob

__all__ = ["PipInstall", "current_plan", "dependencies_to_install", "ensure_dependencies",
           "skull_stripping_to_install"]

#: Where :class:`PipInstall` shows pip's lines (the panel's log).
PANEL_LOG = "the Details section of the OMNet Segmentation module"

log = logging.getLogger(__name__)


def current_plan(requirements=OMNET_REQUIREMENTS) -> InstallPlan:
    """What is missing now (re-reading the installed packages)."""
    importlib.invalidate_caches()
    names = {parse_requirement(text).name for text in requirements} | set(SLICER_SHIPPED)
    return plan_install(requirements, installed_versions(sorted(names)))


def _install_torch(requirement: str) -> None:
    try:
        import PyTorchUtils
    except ModuleNotFoundError:
        raise RuntimeError(
            "The PyTorch extension is not installed. Install 'PyTorch' from the Extensions "
            "Manager, restart Slicer, and try again.") from None
    try:  # the PyTorch extension installs with slicer.util.pip_install too
        torch = PyTorchUtils.PyTorchUtilsLogic().installTorch(
            askConfirmation=False, torchVersionRequirement=requirement)
    except subprocess.CalledProcessError as error:
        raise RuntimeError(pip_failure_text([f"torch{requirement}"], error.returncode)) from None
    if torch is None:
        raise RuntimeError("PyTorch was not installed.")


def _pip_arguments(plan: InstallPlan) -> list[str]:
    """What goes after ``pip install`` (the pins written to a constraints file first)."""
    constraints = Path(slicer.util.tempDirectory("OMNet")) / "slicer-constraints.txt"
    constraints.write_text(plan.constraints_text(), encoding="utf-8")
    return pip_install_arguments(plan, str(constraints))


def _still_missing(plan: InstallPlan) -> str:
    return ("still missing after installation: " + ", ".join(plan.missing)
            + ". Restart Slicer and try again.")


def _install_pip(plan: InstallPlan) -> None:
    arguments = _pip_arguments(plan)
    if not arguments:
        return
    try:
        slicer.util.pip_install(arguments)
    except subprocess.CalledProcessError as error:  # what Slicer's pip_install raises
        raise RuntimeError(pip_failure_text(plan.pip, error.returncode)) from None


def _skull_strip_question(plan: InstallPlan) -> str:
    return ("Scans that still show skull and scalp must be skull-stripped first. OMNet uses "
            "HD-BET for that, an optional package of about 330 MB.\n\n" + describe_plan(plan))


class PipInstall:
    """``<Slicer's Python> -m pip install ...`` for the pip part of ``plan`` in a child
    process, with the arguments ``slicer.util.pip_install`` would get; Slicer stays
    responsive and :meth:`cancel` stops it.

    ``requirements``: what must be installed afterwards (checked again when pip succeeded).
    """

    def __init__(self, plan: InstallPlan, requirements: Sequence[str]) -> None:
        self.plan, self.requirements = plan, tuple(requirements)
        self.job: TimedJob | None = None
        self.on_done: Callable[[str, str], None] | None = None

    @property
    def needed(self) -> bool:
        return bool(self.plan.pip)

    @property
    def running(self) -> bool:
        return bool(self.job and self.job.running)

    def start(self, on_log: Callable[[str], None] | None = None,
              on_done: Callable[[str, str], None] | None = None) -> None:
        """Start pip; ``on_done(status, message)`` once it ended: status ``succeeded``,
        ``failed`` or ``cancelled``, message for people (empty on success)."""
        self.on_done = on_done
        self.job = TimedJob(onLog=on_log, onFinished=self._finished, graceSeconds=3.0)
        # the environment pip_install gives pip (launchConsoleProcess with
        # useStartupEnvironment=False), its lines unbuffered for the log
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
        self.job.startPython(["-m", "pip", "install", *_pip_arguments(self.plan)], env=env)

    def cancel(self) -> None:
        if self.job:
            self.job.cancel()

    def _finished(self, outcome: JobOutcome) -> None:
        importlib.invalidate_caches()  # what pip wrote must be importable now
        if outcome.status == CANCELLED:
            status, message = CANCELLED, "The installation was stopped."
        elif outcome.returncode != 0:
            status = FAILED
            message = pip_failure_text(self.plan.pip, outcome.returncode, PANEL_LOG)
        else:
            still = current_plan(self.requirements)
            status, message = (FAILED, _still_missing(still)) if still.needed else (SUCCEEDED, "")
        if self.on_done:
            self.on_done(status, message)


def dependencies_to_install(ask: bool = True) -> PipInstall | None:
    """The pip install still needed for ``omnet`` (``needed`` False: nothing), after asking
    and installing PyTorch through the PyTorch extension (its own call); None when declined,
    or raises when PyTorch failed (already shown)."""
    plan = current_plan()
    for message in plan.kept:
        log.warning(message)
    if not plan.needed:
        return PipInstall(plan, OMNET_REQUIREMENTS)
    if ask and not slicer.util.confirmOkCancelDisplay(describe_plan(plan),
                                                      "OMNet: install Python packages"):
        return None
    if plan.torch is not None:
        with slicer.util.tryWithErrorDisplay("Installing the Python packages failed.",
                                             waitCursor=True):
            _install_torch(plan.torch)
            if not plan.pip and current_plan().needed:
                raise RuntimeError(_still_missing(current_plan()))
    return PipInstall(plan, OMNET_REQUIREMENTS)


def skull_stripping_to_install(ask: bool = True) -> PipInstall | None:
    """The pip install still needed for HD-BET (about 330 MB), after asking; None when
    declined."""
    plan = current_plan(SKULLSTRIP_REQUIREMENTS)
    if plan.needed and ask and not slicer.util.confirmOkCancelDisplay(
            _skull_strip_question(plan), "OMNet: install skull stripping"):
        return None
    return PipInstall(plan, SKULLSTRIP_REQUIREMENTS)


def ensure_dependencies(ask: bool = True) -> bool:
    """True when everything is installed (installing it first if the user agrees), pip on
    the GUI thread: for the training panel and the self-test, which wait for it."""
    pending = dependencies_to_install(ask)
    if pending is None:
        return False
    if pending.needed:
        with slicer.util.tryWithErrorDisplay("Installing the Python packages failed.",
                                             waitCursor=True):
            _install_pip(pending.plan)
            still = current_plan()
            if still.needed:
                raise RuntimeError(_still_missing(still))
    return not current_plan().needed
