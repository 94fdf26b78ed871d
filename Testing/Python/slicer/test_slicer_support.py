"""Supported releases stated alike everywhere; first use without own data; own omnet found."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from OMNetSegmentationLib import guide
from OMNetSegmentationLib.command import demo_arguments
from OMNetSegmentationLib.support import (
    OLDEST_PYTHON,
    OLDEST_SLICER,
    SUPPORTED_RELEASES,
    unsupported_message,
)

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # Python 3.9 and 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("version", [(5, 8), (5, 10), (5, 12), (5, 13), (6, 0)])
def test_supported_releases_get_the_panel(version):
    assert unsupported_message(version, (3, 9)) is None
    assert unsupported_message(version, (3, 12)) is None


@pytest.mark.parametrize(("version", "python"), [((5, 6), (3, 9)), ((5, 2), (3, 9)),
                                                 ((4, 11), (3, 6)), ((5, 8), (3, 8))])
def test_older_releases_get_a_message_that_says_what_to_do(version, python):
    message = unsupported_message(version, python)
    assert message and "5.8 or newer" in message
    assert ".".join(map(str, version)) in message and "Extensions Manager" in message


def test_releases_python_and_build_settings_agree():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    oldest = ".".join(map(str, OLDEST_PYTHON))
    assert pyproject["project"]["requires-python"] == f">={oldest}"
    assert pyproject["tool"]["ruff"]["target-version"] == "py" + oldest.replace(".", "")
    assert f"sys.version_info < {OLDEST_PYTHON}" in (REPO / "Makefile").read_text(encoding="utf-8")
    script = (REPO / "tools/test_oldest_python.py").read_text(encoding="utf-8")
    assert f"OLDEST = {OLDEST_PYTHON}" in script
    assert SUPPORTED_RELEASES[0] == ".".join(map(str, OLDEST_SLICER))
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert re.search(r"Slicer 5\.8, 5\.10 and 5\.12", readme)
    assert f"Python {oldest}" in readme


def test_python312_tests_run_with_the_packages_slicer_512_ships():
    """The pins of tools/test_oldest_python.py are the versions SLICER_API.md read in Slicer."""
    script = (REPO / "tools/test_oldest_python.py").read_text(encoding="utf-8")
    pins = dict(re.findall(r'"(numpy|scipy|pydicom|SimpleITK)==([0-9.]+)"',
                           script.split("NEWEST_REQUIREMENTS =")[1].split(")")[0]))
    api = (REPO / "OMNetSegmentation/SLICER_API.md").read_text(encoding="utf-8")
    shipped = re.search(r"5\.12 and main: ([^(|]*)", api)
    assert shipped and len(pins) == 4
    for name, version in pins.items():
        assert f"{name} {version}" in shipped.group(1)


def test_demo_arguments_make_the_case_only():
    assert demo_arguments(Path("/tmp/d")) == ["demo", "-o", str(Path("/tmp/d")), "--no-segment",
                                              "--progress-format", "lines"]


def test_demo_case_command_runs_with_only_what_slicer_ships(tmp_path):
    """``omnet demo --no-segment`` (the "Load demo case" child) needs no PyTorch."""
    code = ("import sys, runpy; sys.path.insert(0, sys.argv[1]); "
            "sys.modules.update(dict.fromkeys(('torch', 'sklearn', 'safetensors', 'tqdm', "
            "'matplotlib'))); sys.argv = ['omnet', *sys.argv[2:]]; "
            "runpy.run_module('omnet', run_name='__main__')")
    process = subprocess.run([sys.executable, "-I", "-c", code, str(REPO),
                              *demo_arguments(tmp_path)[:-2], "--progress-format", "none",
                              "--size", "32", "32", "32"],
                             capture_output=True, text=True, timeout=300, check=False)
    assert process.returncode == 0, process.stderr[-2000:]
    names = sorted(p.name for p in (tmp_path / "demo").iterdir())
    assert names == [f"demo_{r}.nii.gz" for r in ("flair", "seg", "t1", "t1ce", "t2")]


def test_the_panel_states_the_inputs():
    for needle in ("FLAIR", "T1", "T1c", "T2", "one patient", "as the scanner wrote them",
                   "skull and scalp are stripped", "co-registered", "Load demo case"):
        assert needle in guide.INPUT_REQUIREMENTS
    assert "Segment tumor" in guide.DEMO_LOADED


def test_the_lib_package_puts_its_own_omnet_first(tmp_path):
    """In a checkout the repository root goes first on sys.path, before any other omnet."""
    other = tmp_path / "site" / "omnet"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text("raise ImportError('the wrong omnet')\n")
    code = ("import sys; sys.path[:0] = sys.argv[1:3]; import OMNetSegmentationLib, omnet; "
            "print(omnet.__file__)")
    process = subprocess.run([sys.executable, "-I", "-c", code, str(tmp_path / "site"),
                              str(REPO / "OMNetSegmentation")],
                             capture_output=True, text=True, timeout=120, check=False)
    assert process.returncode == 0, process.stderr[-2000:]
    assert Path(process.stdout.strip()) == REPO / "omnet" / "__init__.py"
