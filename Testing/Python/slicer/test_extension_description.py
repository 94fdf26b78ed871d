"""OMNetExtension.s4ext, the legacy extension description: generated from OMNetExtension.json
and CMakeLists.txt by ``tools/write_s4ext.py``, and readable by Slicer's rules.

The rules are those of Slicer's own readers of the format, read at v5.8.1, v5.10.0 and main:
``qSlicerExtensionsManagerModel::parseExtensionDescriptionFile`` (a line that starts with
``#`` or is empty is skipped; the first space-separated word is the key, the others joined by
one space the value) and, up to 5.6, SlicerWizard's ``ExtensionDescription._read`` (regular
expression ``([a-zA-Z][a-zA-Z0-9_]*)\\s+(.+)``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from script_modules import load_script

from omnet.errors import InputError

REPO = Path(__file__).resolve().parents[3]
S4EXT = REPO / "OMNetExtension.s4ext"
ENTRY = json.loads((REPO / "OMNetExtension.json").read_text())
#: The keys of Slicer's template Utilities/Templates/Extensions/extension_description.s4ext.in
#: at v5.6.2, v5.8.1 and v5.10.0 (5.12 adds recommends, tier, dicom_support_rule, keywords).
SLICER_KEYS = ["scm", "scmurl", "scmrevision", "depends", "build_subdirectory", "homepage",
               "contributors", "category", "iconurl", "status", "description",
               "screenshoturls", "enabled"]
#: SlicerExtensionDescriptionSpec.cmake: the metadata Slicer requires.
REQUIRED = ("scm", "scmurl", "scmrevision")
SLICER_WIZARD_LINE = re.compile(r"([a-zA-Z][a-zA-Z0-9_]*)\s+(.+)")
needs_cmake = pytest.mark.skipif(shutil.which("cmake") is None,
                                 reason="CMake is not installed (it evaluates CMakeLists.txt)")


@pytest.fixture(scope="module")
def tool():
    return load_script("tools/write_s4ext.py")


def read_like_the_extensions_manager(text: str) -> dict[str, str]:
    """Key -> value by the rules of Slicer's Extensions Manager (see the module docstring)."""
    fields = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        words = [word for word in line.split(" ") if word]
        if words:
            fields[words[0]] = " ".join(words[1:])
    return fields


@needs_cmake
def test_the_committed_description_is_what_the_tool_writes_now(tool):
    assert S4EXT.read_text(encoding="utf-8") == tool.generate(REPO), (
        "OMNetExtension.s4ext is out of date: run python tools/write_s4ext.py")


def test_slicer_reads_every_field_of_the_description():
    text = S4EXT.read_text(encoding="utf-8")
    fields = read_like_the_extensions_manager(text)
    assert list(fields) == SLICER_KEYS
    assert all(fields[key] for key in REQUIRED)
    # the index's fields are the catalogue entry's, as the ExtensionsIndex converted them
    assert fields["scm"] == ENTRY["scm_type"] == "git"
    assert fields["scmurl"] == ENTRY["scm_url"]
    assert fields["scmrevision"] == ENTRY["scm_revision"]
    assert fields["depends"].split(" ") == ENTRY["build_dependencies"] == ["PyTorch"]
    assert fields["build_subdirectory"] == ENTRY["build_subdirectory"] == "."
    assert fields["category"] == ENTRY["category"] == "Segmentation"
    assert fields["enabled"] == "1"
    # the catalogue's fields are CMakeLists.txt's, with the URLs derived from scm_url
    cmake = (REPO / "CMakeLists.txt").read_text(encoding="utf-8")
    for key in ("contributors", "description"):
        assert f'set(EXTENSION_{key.upper()} "{fields[key]}")' in cmake
    assert fields["homepage"] == ENTRY["scm_url"]
    assert fields["iconurl"] == f"{ENTRY['scm_url']}/raw/main/Resources/Icons/OMNetExtension.png"
    screenshots = sorted(p.name for p in (REPO / "Resources/Screenshots").iterdir())
    assert fields["screenshoturls"].split(" ") == [
        f"{ENTRY['scm_url']}/raw/main/Resources/Screenshots/{name}" for name in screenshots]
    # SlicerWizard (up to 5.6) reads each field that has a value, with the same value
    for line in text.splitlines():
        if line and not line.startswith("#") and fields[line.split(" ")[0]]:
            match = SLICER_WIZARD_LINE.match(line)
            assert match and fields[match.group(1)] == match.group(2).strip(), line


def test_an_extension_without_dependencies_says_na_and_a_disabled_one_zero(tool):
    entry = {"scm_url": "https://example.org/x", "scm_revision": "v1", "category": "Examples",
             "build_dependencies": [], "enabled": False}
    metadata = dict.fromkeys(tool.CMAKE_FIELDS, "")
    metadata["CONTRIBUTORS"] = "Jane Roe (Superware),\n   John Doe (Lab1)"
    metadata["SCREENSHOTURLS"] = "https://example.org/a.png;https://example.org/b.png"
    fields = tool.describe(entry, metadata)
    assert fields["depends"] == "NA" and fields["enabled"] == "0"
    assert fields["scm"] == "git" and fields["build_subdirectory"] == "."
    assert fields["contributors"] == "Jane Roe (Superware), John Doe (Lab1)"
    assert fields["screenshoturls"] == "https://example.org/a.png https://example.org/b.png"
    assert "\nstatus\n" in tool.render(fields)


def test_a_catalogue_entry_without_its_address_is_refused(tool):
    with pytest.raises(InputError, match='no "scm_url"'):
        tool.describe({"scm_revision": "main", "category": "Segmentation"},
                      dict.fromkeys(tool.CMAKE_FIELDS, ""))


@needs_cmake
def test_check_reports_a_description_left_behind_and_writing_brings_it_up_to_date(
        tool, tmp_path, capsys):
    for name in ("CMakeLists.txt", "OMNetExtension.json", "OMNetExtension.s4ext", "README.md"):
        shutil.copy(REPO / name, tmp_path / name)
    assert tool.main(["--source-dir", str(tmp_path), "--check"]) == 0
    entry = dict(ENTRY, scm_url="https://github.com/someone-else/SlicerOMNet")
    (tmp_path / "OMNetExtension.json").write_text(json.dumps(entry))
    assert tool.main(["--source-dir", str(tmp_path), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert tool.main(["--source-dir", str(tmp_path)]) == 0
    fields = read_like_the_extensions_manager((tmp_path / "OMNetExtension.s4ext").read_text())
    assert fields["scmurl"] == fields["homepage"] == entry["scm_url"]
    assert fields["iconurl"].startswith(entry["scm_url"] + "/raw/main/")


def test_unreadable_sources_give_one_line_and_write_nothing(tool, tmp_path, capsys):
    (tmp_path / "CMakeLists.txt").write_text("project(OMNetExtension)\n")
    (tmp_path / "OMNetExtension.json").write_text(json.dumps(ENTRY))
    assert tool.main(["--source-dir", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("write_s4ext: error: CMakeLists.txt has no metadata")
    assert error.count("\n") == 1
    assert not (tmp_path / "OMNetExtension.s4ext").exists()


def test_a_cmake_that_hangs_or_cannot_run_is_one_line(tool, tmp_path, capsys, monkeypatch):
    # subprocess.run's timeout (and a cmake that cannot be executed) gave a traceback
    for name in ("CMakeLists.txt", "OMNetExtension.json"):
        shutil.copy(REPO / name, tmp_path / name)
    monkeypatch.setattr(tool.shutil, "which", lambda name: "/usr/bin/cmake")

    def hangs(command, **kwargs):
        raise subprocess.TimeoutExpired(command, kwargs["timeout"])

    monkeypatch.setattr(tool.subprocess, "run", hangs)
    assert tool.main(["--source-dir", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("write_s4ext: error: cmake could not be run on CMakeLists.txt's "
                            "metadata: Command") and "timed out after 60 seconds" in error
    assert error.count("\n") == 1
    assert not (tmp_path / "OMNetExtension.s4ext").exists()
