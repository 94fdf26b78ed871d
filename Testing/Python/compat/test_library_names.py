"""Every numpy, scipy, SimpleITK and pydicom name the code uses exists in the installed ones.

``tools/test_oldest_python.py`` runs this under Slicer 5.8's packages (numpy 1.26, pydicom
2.4) and Slicer 5.12's (numpy 2.4, scipy 1.17, pydicom 3.0), so a name removed or deprecated
in either is found, also in code that needs PyTorch and is never run there.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from library_names import problem, used_names

REPO = Path(__file__).resolve().parents[3]
FOLDERS = ("omnet", "OMNetSegmentation", "OMNetTraining", "tools", "benchmarks", "Testing")
SOURCES = sorted(p for folder in FOLDERS for p in (REPO / folder).rglob("*.py")
                 if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_library_names_exist_here(path):
    found = [f"line {line}: {name}: {why}"
             for line, name in used_names(path.read_text(encoding="utf-8"))
             if (why := problem(name)) is not None]
    assert found == []


def test_names_are_read_through_aliases_and_imports():
    source = ("import numpy as np\nimport scipy.ndimage as ndi\nfrom scipy import ndimage\n"
              "from pydicom.uid import ExplicitVRLittleEndian as E\n"
              "a = np.linalg.norm(np.zeros(2)).item()\nb = ndi.label\nc = ndimage.zoom\n")
    assert used_names(source) == [(1, "numpy"), (2, "scipy.ndimage"), (3, "scipy.ndimage"),
                                  (4, "pydicom.uid.ExplicitVRLittleEndian"),
                                  (5, "numpy.linalg.norm"), (5, "numpy.zeros"),
                                  (6, "scipy.ndimage.label"), (7, "scipy.ndimage.zoom")]


@pytest.mark.parametrize("name", ["numpy.in1d_removed", "scipy.ndimage.no_such_filter",
                                  "SimpleITK.NoSuchFilter", "pydicom.no_such_module.x"])
def test_a_missing_name_is_named(name):
    assert "does not exist" in problem(name)


def test_present_names_and_class_attributes_pass():
    assert problem("numpy.linalg.norm") is None
    assert problem("SimpleITK.Image.GetSpacing") is None
    assert problem("scipy.ndimage.label") is None
