"""End to end on one real BraTS 2018 case with a small randomly initialised model."""

from __future__ import annotations

import json

import numpy as np
import SimpleITK as sitk
import torch

from omnet import segment
from omnet.data.discovery import find_case_files
from omnet.data.imageio import load_case
from omnet.model import build_model


def test_load_case_on_the_real_case(brats_case):
    case = load_case(find_case_files(brats_case, need_seg=True))
    assert case.images.shape == (4, 155, 240, 240) and case.images.dtype == np.float32
    assert set(np.unique(case.seg)) == {0, 1, 2, 4}
    assert (case.images[:, case.seg > 0] != 0).any(axis=0).all()  # tumour lies in the brain


def test_segment_the_real_case(brats_case, tmp_path):
    torch.manual_seed(0)
    model = build_model("omnet-cga", width=2)
    out = tmp_path / "seg.nii.gz"
    result = segment(brats_case, out, model=model, device="cpu", report=tmp_path / "r.json")
    t1c = sitk.ReadImage(str(next(brats_case.glob("*_t1ce.nii.gz"))))
    written = sitk.ReadImage(str(out))
    assert written.GetSize() == t1c.GetSize() == (240, 240, 155)
    assert written.GetSpacing() == t1c.GetSpacing()
    assert written.GetOrigin() == t1c.GetOrigin()
    assert written.GetDirection() == t1c.GetDirection()
    labels = sitk.GetArrayFromImage(written)
    assert set(np.unique(labels)) <= {0, 1, 2, 4}
    brain = sitk.GetArrayFromImage(t1c) != 0
    hits = [np.flatnonzero(brain.any(axis=tuple(a for a in range(3) if a != axis)))
            for axis in range(3)]
    outside = np.ones_like(brain)
    outside[tuple(slice(h[0] - 4, h[-1] + 5) for h in hits)] = False
    assert not labels[outside].any()  # nothing outside the brain's box (+ the crop margin)
    assert len(result.report["crop"]) == 3
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["geometry"]["size"] == [240, 240, 155]
    assert report["tiles"]["count"] >= 1
