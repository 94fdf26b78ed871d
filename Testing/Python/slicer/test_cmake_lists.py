"""The extension's build files: what each module ships, and the extension's description.

Slicer's build stops on a listed file that is missing and silently drops a file that is not
listed, so the lists are compared with the files on disk in both directions.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from OMNetSegmentationLib.support import SUPPORTED_RELEASES

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # Python 3.9 and 3.10 (the oldest supported Slicer)
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[3]
MODULES = ("OMNetSegmentation", "OMNetTraining")
ROOT_CMAKE = (REPO / "CMakeLists.txt").read_text()


def cmake_list(text: str, variable: str) -> list[str]:
    """Items of ``set(VARIABLE a b c)`` (comments removed)."""
    text = re.sub(r"#[^\n]*", "", text)
    match = re.search(rf"set\(\s*{variable}\s+(.*?)\)", text, re.S)
    assert match, f"set({variable} ...) not found"
    return match.group(1).split()


def cmake_value(text: str, variable: str) -> str:
    match = re.search(rf'set\(\s*{variable}\s+"([^"]*)"', text)
    assert match, f"set({variable} \"...\") not found"
    return match.group(1)


def shipped(module: str) -> tuple[list[str], list[str]]:
    """(scripts, resources) of a module's CMakeLists, with ${MODULE_NAME} expanded."""
    text = (REPO / module / "CMakeLists.txt").read_text()
    assert cmake_list(text, "MODULE_NAME") == [module]

    def expand(items: list[str]) -> list[str]:
        return [item.replace("${MODULE_NAME}", module) for item in items]

    scripts = [s if s.endswith(".py") else s + ".py"  # the macro appends .py when missing
               for s in expand(cmake_list(text, "MODULE_PYTHON_SCRIPTS"))]
    return scripts, expand(cmake_list(text, "MODULE_PYTHON_RESOURCES"))


@pytest.mark.parametrize("module", MODULES)
def test_every_listed_file_exists(module):
    scripts, resources = shipped(module)
    missing = [f for f in scripts + resources if not (REPO / module / f).is_file()]
    assert missing == []
    assert len(set(scripts + resources)) == len(scripts + resources), "a file is listed twice"


@pytest.mark.parametrize("module", MODULES)
def test_every_file_on_disk_is_listed(module):
    scripts, resources = shipped(module)
    folder = REPO / module
    python = {p.relative_to(folder).as_posix() for p in folder.rglob("*.py")
              if "__pycache__" not in p.parts}
    assert python - set(scripts) == set(), "Python files Slicer would silently drop"
    resource_files = {p.relative_to(folder).as_posix()
                      for p in (folder / "Resources").rglob("*") if p.is_file()}
    assert resource_files - set(resources) == set(), "resources Slicer would silently drop"
    for kind in (".ui", ".png"):
        assert any(r.endswith(kind) for r in resources), f"no {kind} listed"


def test_every_module_is_built_and_every_subdirectory_is_a_module():
    subdirectories = re.findall(r"add_subdirectory\((\w+)\)", ROOT_CMAKE)
    on_disk = sorted(p.parent.name for p in REPO.glob("*/CMakeLists.txt")
                     if "slicerMacroBuildScriptedModule" in p.read_text())
    assert sorted(subdirectories) == on_disk == sorted(MODULES)


def test_extension_metadata():
    assert re.search(r"project\(OMNetExtension\)", ROOT_CMAKE)
    assert cmake_value(ROOT_CMAKE, "EXTENSION_CONTRIBUTORS")
    description = cmake_value(ROOT_CMAKE, "EXTENSION_DESCRIPTION")
    assert len(description) > 40
    assert all(release in description for release in SUPPORTED_RELEASES)
    for include in ("find_package(Slicer REQUIRED)", "include(${Slicer_USE_FILE})",
                    "include(${Slicer_EXTENSION_GENERATE_CONFIG})",
                    "include(${Slicer_EXTENSION_CPACK})"):
        assert include in ROOT_CMAKE
    license_text = (REPO / "LICENSE").read_text()
    assert "Apache License" in license_text and "Version 2.0" in license_text
    assert "OMNet for 3D Slicer contributors" in license_text


def test_the_repository_address_is_written_once():
    """Publishing under another address changes one line: scm_url in OMNetExtension.json
    (OMNetExtension.s4ext is written from it: test_extension_description.py)."""
    url = json.loads((REPO / "OMNetExtension.json").read_text())["scm_url"]
    assert url.startswith("https://")
    holders = [p.relative_to(REPO).as_posix() for p in REPO.rglob("*")
               if p.is_file() and p.suffix in (".txt", ".json", ".md", ".py", ".cmake", ".ui")
               and not {".git", ".venv", ".venv-py39", ".venv-py312", "build"} & set(p.parts)
               and url in p.read_text(errors="ignore")]
    assert holders == ["OMNetExtension.json"]
    assert "https://" not in re.sub(r"#[^\n]*", "", ROOT_CMAKE)


def test_the_catalogue_pictures_are_in_resources():
    screenshots = cmake_list(ROOT_CMAKE, "OMNET_SCREENSHOTS")
    on_disk = sorted(p.name for p in (REPO / "Resources/Screenshots").iterdir() if p.is_file())
    assert screenshots and sorted(screenshots) == on_disk
    assert "/Resources/Icons/OMNetExtension.png" in ROOT_CMAKE
    assert (REPO / "Resources/Icons/OMNetExtension.png").is_file()


def test_omnet_package_patterns_match_the_python_package():
    """The extension ships what the wheel ships: every module plus the package data."""
    text = re.sub(r"#[^\n]*", "", ROOT_CMAKE)
    block = re.search(r"file\(GLOB_RECURSE OMNET_PACKAGE_FILES(.*?)\)", text, re.S).group(1)
    patterns = {p.replace("${CMAKE_CURRENT_SOURCE_DIR}/", "")
                for p in block.split() if "${CMAKE_CURRENT_SOURCE_DIR}/" in p}
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    package_data = pyproject["tool"]["setuptools"]["package-data"]["omnet"]
    assert patterns == {"omnet/*.py", *(f"omnet/{p}" for p in package_data)}


def test_catalog_entry():
    entry = json.loads((REPO / "OMNetExtension.json").read_text())
    # slicer-extension-catalog-entry-schema-v1.0.2: required keys, no others, types
    assert entry["$schema"].endswith("slicer-extension-catalog-entry-schema-v1.0.2.json#")
    allowed = {"$schema": str, "category": str, "scm_url": str, "scm_revision": str,
               "scm_type": str, "build_dependencies": list, "dicom_support_rule": str,
               "build_subdirectory": str, "enabled": bool, "tier": int}
    assert {"$schema", "category", "scm_url"} <= set(entry) <= set(allowed)
    for key, value in entry.items():
        assert isinstance(value, allowed[key]), key
    assert entry["scm_type"] in ("git", "local") and 1 <= entry["tier"] <= 5
    assert entry["category"] == "Segmentation"
    assert entry["build_dependencies"] == ["PyTorch"]


@pytest.mark.parametrize("icon", ["Resources/Icons/OMNetExtension.png",
                                  "OMNetSegmentation/Resources/Icons/OMNetSegmentation.png",
                                  "OMNetTraining/Resources/Icons/OMNetTraining.png"])
def test_icons_are_128_pixel_pngs(icon):
    head = (REPO / icon).read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", head[16:24]) == (128, 128)


STUB_CONFIG = """
set(Slicer_USE_FILE ${CMAKE_CURRENT_LIST_DIR}/UseSlicer.cmake)
set(Slicer_EXTENSION_GENERATE_CONFIG ${CMAKE_CURRENT_LIST_DIR}/Empty.cmake)
set(Slicer_EXTENSION_CPACK ${CMAKE_CURRENT_LIST_DIR}/Empty.cmake)
"""
# The parts of Slicer's UseSlicer that the extension relies on; the macro fails on a listed
# file that does not exist, as SlicerMacroBuildScriptedModule.cmake does.
STUB_USE = """
set(Slicer_QTSCRIPTEDMODULES_LIB_DIR lib/Slicer-5.8/qt-scripted-modules)
set(Slicer_INSTALL_QTSCRIPTEDMODULES_LIB_DIR lib/Slicer-5.8/qt-scripted-modules)
set(BUILD_TESTING ON)
macro(slicerMacroBuildScriptedModule)
  cmake_parse_arguments(MY "WITH_GENERIC_TESTS" "NAME" "SCRIPTS;RESOURCES" ${ARGN})
  foreach(file ${MY_SCRIPTS} ${MY_RESOURCES})
    if(NOT EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${file})
      message(FATAL_ERROR "slicerMacroBuildScriptedModule given nonexistent file ${file}")
    endif()
    get_filename_component(dir ${file} DIRECTORY)
    install(FILES ${file} DESTINATION ${Slicer_INSTALL_QTSCRIPTEDMODULES_LIB_DIR}/${dir})
  endforeach()
endmacro()
macro(slicer_add_python_unittest)
endmacro()
"""


@pytest.mark.skipif(shutil.which("cmake") is None, reason="CMake is not installed")
def test_extension_configures_and_installs_with_a_stand_in_slicer(tmp_path):
    stub = tmp_path / "slicer"
    stub.mkdir()
    (stub / "SlicerConfig.cmake").write_text(STUB_CONFIG)
    (stub / "UseSlicer.cmake").write_text(STUB_USE)
    (stub / "Empty.cmake").write_text("")
    build, prefix = tmp_path / "build", tmp_path / "install"
    configure = subprocess.run(["cmake", "-S", str(REPO), "-B", str(build),
                                f"-DSlicer_DIR={stub}"], capture_output=True, text=True,
                               timeout=120, check=False)
    assert configure.returncode == 0, configure.stdout + configure.stderr
    # the metadata Slicer's extension config receives, derived from OMNetExtension.json
    url = json.loads((REPO / "OMNetExtension.json").read_text())["scm_url"]
    for line in (f"OMNetExtension homepage: {url}",
                 f"OMNetExtension icon: {url}/raw/main/Resources/Icons/OMNetExtension.png",
                 f"OMNetExtension screenshots: {url}/raw/main/Resources/Screenshots/"
                 "demo_overlay.png",
                 "OMNetExtension category: Segmentation; depends: PyTorch"):
        assert line in configure.stdout
    install = subprocess.run(["cmake", "--install", str(build), "--prefix", str(prefix)],
                             capture_output=True, text=True, timeout=120, check=False)
    assert install.returncode == 0, install.stdout + install.stderr
    modules = prefix / "lib/Slicer-5.8/qt-scripted-modules"
    for module in MODULES:
        scripts, resources = shipped(module)
        for file in scripts + resources:
            assert (modules / file).is_file(), file
    package = {p.relative_to(REPO).as_posix() for p in (REPO / "omnet").rglob("*.py")
               if "__pycache__" not in p.parts}
    installed = {p.relative_to(modules).as_posix() for p in (modules / "omnet").rglob("*")
                 if p.is_file()}
    assert package <= installed
    assert not any("__pycache__" in path for path in installed)
    # the build tree holds the package too, for Slicer started on the build tree
    assert (build / "lib/Slicer-5.8/qt-scripted-modules/omnet/__init__.py").is_file()
