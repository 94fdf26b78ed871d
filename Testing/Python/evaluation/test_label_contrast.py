"""``tools/label_contrast.py``: the median brightness of each expert region on the T1c."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from script_modules import load_script


@pytest.fixture(scope="module")
def tool():
    return load_script("tools/label_contrast.py")


def _case(root: Path, name: str, enhancing_value: float) -> Path:
    """A 20^3 brain of 100 with edema at 110 and an enhancing block at ``enhancing_value``."""
    folder = root / name
    folder.mkdir()
    brain = np.full((20, 20, 20), 100.0, np.float32)
    labels = np.zeros(brain.shape, np.uint8)
    labels[5:15, 5:15, 5:15] = 2
    labels[8:12, 8:12, 8:12] = 4
    brain[labels == 2] = 110.0
    brain[labels == 4] = enhancing_value
    for role in ("flair", "t1", "t1ce", "t2"):
        sitk.WriteImage(sitk.GetImageFromArray(brain), str(folder / f"{name}_{role}.nii.gz"))
    sitk.WriteImage(sitk.GetImageFromArray(labels), str(folder / f"{name}_seg.nii.gz"))
    return folder


def test_a_dark_enhancing_label_is_flagged(tool, tmp_path, capsys):
    bright = tool.case_contrast(_case(tmp_path, "bright", 300.0), "t1ce")
    dark = tool.case_contrast(_case(tmp_path, "dark", 90.0), "t1ce")
    assert bright["enhancing_voxels"] == dark["enhancing_voxels"] == 64
    assert bright["necrotic"] is None
    assert bright["enhancing"] > bright["edema"] > 0 > dark["enhancing"]
    assert tool.main([str(tmp_path), "--json", str(tmp_path / "f.json")]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert "no brighter than edema" in lines["dark"]
    assert "no brighter than edema" not in lines["bright"]
