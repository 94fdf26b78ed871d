"""Install what ``omnet`` needs into Slicer's Python, after asking (Slicer only).

The decisions are in :mod:`.dependencies` (tested outside Slicer); this file only asks the
user and calls the PyTorch extension and ``slicer.util.pip_install``.
"""

from __future__ import annotations

import importlib
import logging
import subprocess
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

__all__ = ["current_plan", "ensure_dependencies", "ensure_skull_stripping"]

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


def _install_pip(plan: InstallPlan) -> None:
    constraints = Path(slicer.util.tempDirectory("OMNet")) / "slicer-constraints.txt"
    constraints.write_text(plan.constraints_text(), encoding="utf-8")
    arguments = pip_install_arguments(plan, str(constraints))
    if not arguments:
        return
    try:
        slicer.util.pip_install(arguments)
    except subprocess.CalledProcessError as error:  # what Slicer's pip_install raises
        raise RuntimeError(pip_failure_text(plan.pip, error.returncode)) from None


def ensure_dependencies(ask: bool = True) -> bool:
    """True when everything is installed (installing it first if the user agrees)."""
    plan = current_plan()
    for message in plan.kept:
        log.warning(message)
    if not plan.needed:
        return True
    if ask and not slicer.util.confirmOkCancelDisplay(describe_plan(plan),
                                                      "OMNet: install Python packages"):
        return False
    with slicer.util.tryWithErrorDisplay("Installing the Python packages failed.",
                                         waitCursor=True):
        if plan.torch is not None:
            _install_torch(plan.torch)
        _install_pip(plan)
        still = current_plan()
        if still.needed:
            raise RuntimeError("still missing after installation: " + ", ".join(still.missing)
                               + ". Restart Slicer and try again.")
    return not current_plan().needed


def ensure_skull_stripping(ask: bool = True) -> bool:
    """True when the optional brain-extraction package is installed (installing it first,
    about 330 MB, if the user agrees)."""
    plan = current_plan(SKULLSTRIP_REQUIREMENTS)
    if not plan.needed:
        return True
    text = ("Scans that still show skull and scalp must be skull-stripped first. OMNet uses "
            "HD-BET for that, an optional package of about 330 MB.\n\n" + describe_plan(plan))
    if ask and not slicer.util.confirmOkCancelDisplay(text, "OMNet: install skull stripping"):
        return False
    with slicer.util.tryWithErrorDisplay("Installing HD-BET failed.", waitCursor=True):
        _install_pip(plan)
    return not current_plan(SKULLSTRIP_REQUIREMENTS).needed
