"""Both install routes load the modules as Slicer loads them, with only Slicer's packages;
the Extension Wizard finds both modules in a checkout.

Slicer puts each scripted module's folder on ``sys.path`` and nothing else
(Base/QTGUI/qSlicerScriptedLoadableModuleFactory.cxx). Each case runs
``load_like_slicer.py`` in a fresh interpreter (``-I``: no PYTHONPATH, no user site) with
only the module folders added, PyTorch and the other packages the module installs on first
use made unimportable, and stand-ins for slicer/qt/ctk/vtk.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from test_cmake_lists import MODULES, ROOT_CMAKE, shipped

REPO = Path(__file__).resolve().parents[3]
SCRIPT = Path(__file__).with_name("load_like_slicer.py")
#: Not in Slicer's Python before the module's first use (scipy ships with Slicer, but the
#: modules must load without it too).
NOT_SHIPPED = ("torch", "scipy", "sklearn", "safetensors", "tqdm", "matplotlib", "monai",
               "medpy", "psutil", "PyTorchUtils")


def load(*module_dirs: Path) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-I", str(SCRIPT), "--blocked", ",".join(NOT_SHIPPED)]
    for folder in module_dirs:
        argv += ["--module-dir", str(folder)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def loaded(*module_dirs: Path) -> dict:
    process = load(*module_dirs)
    assert process.returncode == 0, process.stderr[-3000:]
    return json.loads(process.stdout.strip().splitlines()[-1])


def every_module_file() -> list[str]:
    names = []
    for module in MODULES:
        scripts, _ = shipped(module)
        names += [s[:-3].replace("/", ".") for s in scripts if not s.endswith("__init__.py")]
    return sorted(names)


def extension_install_tree(root: Path) -> Path:
    """The qt-scripted-modules folder as the extension build installs it (see CMakeLists)."""
    target = root / "lib" / "Slicer-5.8" / "qt-scripted-modules"
    for module in MODULES:
        scripts, resources = shipped(module)
        for item in scripts + resources:
            (target / item).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / module / item, target / item)
    block = re.search(r"file\(GLOB_RECURSE OMNET_PACKAGE_FILES(.*?)\)",
                      re.sub(r"#[^\n]*", "", ROOT_CMAKE), re.S).group(1)
    for pattern in re.findall(r"\$\{CMAKE_CURRENT_SOURCE_DIR\}/(\S+)", block):
        for path in REPO.glob(pattern.replace("omnet/", "omnet/**/", 1)):
            if "__pycache__" not in path.parts:
                relative = path.relative_to(REPO)
                (target / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target / relative)
    return target


def test_checkout_added_as_additional_module_paths():
    result = loaded(REPO / "OMNetSegmentation", REPO / "OMNetTraining")
    assert sorted(result["loaded"]) == every_module_file()
    assert Path(result["omnet"]) == REPO / "omnet"
    assert not set(result["imported"]) & set(NOT_SHIPPED)


def test_training_module_loaded_first():
    result = loaded(REPO / "OMNetTraining", REPO / "OMNetSegmentation")
    assert result["loaded"][0] == "OMNetTraining"
    assert Path(result["omnet"]) == REPO / "omnet"


def test_extension_built_by_cmake(tmp_path):
    modules = extension_install_tree(tmp_path)
    assert not (modules / "omnet" / "models").exists() or any(
        (modules / "omnet" / "models").glob("*.json"))
    result = loaded(modules)
    assert sorted(result["loaded"]) == every_module_file()
    assert Path(result["omnet"]) == modules / "omnet"
    assert not set(result["imported"]) & set(NOT_SHIPPED)


def test_module_folders_without_omnet_fail_to_load(tmp_path):
    """The check itself: module folders with no omnet beside them cannot load."""
    for module in MODULES:
        shutil.copytree(REPO / module, tmp_path / "checkout" / module,
                        ignore=shutil.ignore_patterns("__pycache__"))
    process = load(*(tmp_path / "checkout" / module for module in MODULES))
    assert process.returncode != 0
    assert "No module named 'omnet'" in process.stderr


def wizard_modules(folder: Path, depth: int = 1) -> list[str]:
    """The scripted modules Slicer's Extension Wizard offers for ``folder`` (Select Extension,
    or the folder dropped on Slicer), by its rule in
    Modules/Scripted/ExtensionWizard/ExtensionWizardLib/ModuleInfo.py (``findModules``, the
    same in v5.8.1, v5.10.0 and main): a folder holding an ``__init__.py`` is a library, not
    modules; folders are searched ``depth`` levels down; a ``.py`` file is a module when a
    top-level class named as the file lists the plain name ``ScriptedLoadableModule`` among
    its bases. The wizard reads each file in the platform's default encoding and skips one it
    cannot read or parse, so only ASCII is sure to be read on every system."""
    entries = sorted(folder.iterdir())
    if any(entry.name == "__init__.py" for entry in entries):
        return []
    found = []
    for entry in entries:
        if entry.is_dir() and depth > 0:
            found += wizard_modules(entry, depth - 1)
        elif entry.suffix == ".py":
            try:
                tree = ast.parse(entry.read_text(encoding="ascii"))
            except (UnicodeDecodeError, SyntaxError):
                continue
            if any(isinstance(node, ast.ClassDef) and node.name == entry.stem
                   and "ScriptedLoadableModule" in [getattr(b, "id", None) for b in node.bases]
                   for node in tree.body):
                found.append(entry.stem)
    return found


def test_extension_wizard_finds_both_modules_in_a_checkout():
    assert wizard_modules(REPO) == ["OMNetSegmentation", "OMNetTraining"]
