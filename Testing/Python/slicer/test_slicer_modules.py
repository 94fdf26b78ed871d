"""The Slicer-side files: they compile, their .ui files match the code, the pure parts stay pure,
the module classes set only properties Slicer reads and depend only on modules that exist.

Module files import slicer/qt/vtk, which exist only inside Slicer, so they are compiled and
read here, never imported.
"""

from __future__ import annotations

import ast
import py_compile
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
MODULES = ("OMNetSegmentation", "OMNetTraining")
SLICER_ONLY = {"slicer", "qt", "vtk", "ctk", "PyTorchUtils"}
# Lib files that run only inside Slicer; every other Lib file must import without Slicer.
SLICER_SIDE = {"scene.py", "install.py", "logic.py", "selftest.py", "panel.py", "plots.py",
               "lesionscene.py", "demo.py"}
PYTHON_FILES = sorted(p for m in MODULES for p in (REPO / m).rglob("*.py")
                      if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", PYTHON_FILES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_module_file_compiles(path, tmp_path):
    py_compile.compile(str(path), cfile=str(tmp_path / "out.pyc"), doraise=True)


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("path", [p for p in PYTHON_FILES if p.parent.name.endswith("Lib")],
                         ids=lambda p: p.relative_to(REPO).as_posix())
def test_pure_lib_files_never_import_slicer(path):
    uses_slicer = bool(imported_roots(path) & SLICER_ONLY)
    assert uses_slicer == (path.name in SLICER_SIDE), \
        "only the Slicer-side layer may import slicer/qt/vtk; the rest is tested here"


def parameter_fields(module_file: Path) -> set[str]:
    """Field names of the @parameterNodeWrapper class of a module file."""
    tree = ast.parse(module_file.read_text())
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any(
                getattr(d, "id", None) == "parameterNodeWrapper" for d in node.decorator_list):
            return {item.target.id for item in node.body if isinstance(item, ast.AnnAssign)}
    raise AssertionError(f"no @parameterNodeWrapper class in {module_file.name}")


def ui_widgets(module: str) -> dict[str, ET.Element]:
    root = ET.parse(REPO / module / "Resources/UI" / f"{module}.ui").getroot()
    return {w.get("name"): w for w in root.iter("widget")}


def widget_parameter(widget: ET.Element) -> str | None:
    for prop in widget.findall("property"):
        if prop.get("name") == "SlicerParameterName":
            return prop.findtext("string")
    return None


@pytest.mark.parametrize("module", MODULES)
def test_ui_bindings_name_real_parameters(module):
    fields = parameter_fields(REPO / module / f"{module}.py")
    bound = [p for p in map(widget_parameter, ui_widgets(module).values()) if p]
    assert bound, "no widget is bound to the parameter node"
    assert sorted(set(bound) - fields) == [], "SlicerParameterName without a parameter"
    assert len(bound) == len(set(bound)), "a parameter bound to two widgets"


@pytest.mark.parametrize("module", MODULES)
def test_code_uses_only_widgets_that_exist(module):
    widgets = ui_widgets(module)
    code = "".join(p.read_text() for p in (REPO / module).rglob("*.py"))
    used = set(re.findall(r"\bui\.([A-Za-z_]\w*)", code))
    assert used, "the code never touches the ui"
    assert sorted(used - set(widgets)) == []


@pytest.mark.parametrize("module", MODULES)
def test_node_selectors_receive_the_scene(module):
    root = ET.parse(REPO / module / "Resources/UI" / f"{module}.ui").getroot()
    selectors = {name for name, w in ui_widgets(module).items()
                 if w.get("class") in ("qMRMLNodeComboBox", "qMRMLTableView")}
    connected = {c.findtext("receiver") for c in root.iter("connection")
                 if c.findtext("signal") == "mrmlSceneChanged(vtkMRMLScene*)"
                 and c.findtext("sender") == module}
    assert selectors == connected
    assert root.find("widget").get("class") == "qMRMLWidget"


@pytest.mark.parametrize("module", MODULES)
def test_each_module_documents_its_slicer_calls(module):
    note = (REPO / module / "SLICER_API.md").read_text()
    code = "".join(p.read_text() for p in (REPO / module).rglob("*.py"))
    calls = set(re.findall(r"slicer\.util\.(\w+)", code))
    assert calls, "no slicer.util call found"
    undocumented = sorted(c for c in calls if c not in note)
    assert undocumented == [], "slicer.util calls missing from SLICER_API.md"


#: The Q_PROPERTYs of the module object Slicer passes as ``parent`` to the module class
#: (Base/QTGUI/qSlicerScriptedLoadableModule.h, v5.8.1 to main). Any other name sets nothing
#: Slicer reads: PythonQt (PythonQtInstanceWrapper_setattro) either refuses it, and the module
#: fails to load, or keeps it as a plain Python attribute; the stand-ins take it either way.
MODULE_PROPERTIES = {"title", "categories", "contributors", "associatedNodeTypes", "helpText",
                     "acknowledgementText", "extensions", "icon", "hidden", "dependencies",
                     "index"}
#: Modules a module may depend on: Slicer's own (Modules/Loadable/<name>, v5.8.1 to main)
#: and this extension's.
KNOWN_MODULES = {"Segmentations", "SubjectHierarchy", "Markups", "Plots", *MODULES}


def module_parent_settings(module_file: Path) -> dict[str, ast.expr]:
    """``self.parent.<name> = value`` in the ``__init__`` of the class named as the file."""
    tree = ast.parse(module_file.read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == module_file.stem)
    init = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    settings = {}
    for node in ast.walk(init):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and ast.unparse(target.value) == "self.parent":
                    settings[target.attr] = node.value
    return settings


@pytest.mark.parametrize("module", MODULES)
def test_module_class_sets_only_what_slicer_reads(module):
    settings = module_parent_settings(REPO / module / f"{module}.py")
    assert sorted(set(settings) - MODULE_PROPERTIES) == [], "not a property of the module"
    assert {"title", "categories", "contributors", "helpText", "acknowledgementText",
            "dependencies"} <= set(settings)
    dependencies = ast.literal_eval(settings["dependencies"])
    assert module not in dependencies
    assert sorted(set(dependencies) - KNOWN_MODULES) == [], "no such Slicer module"
