"""Cross-check against the official BraTS evaluation (brats-evaluation, AGPL-3.0).

The official package is a test-time reference only, never a dependency of OMNet; this module
is skipped at collection when it is not installed (``pip install brats-evaluation==0.0.10``).
Its glioma configuration is run on the same files as ``omnet evaluate --lesion-wise``.
"""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage

pytest.importorskip("brats_evaluation",
                    reason="official cross-check needs brats-evaluation (test-only, AGPL)")

from brats_evaluation import config_path, evaluate_single_exam
from panoptica import Panoptica_Evaluator

from omnet.evaluation.files import evaluate_files

REGIONS = {"whole": "wt", "core": "tc", "enhancing": "et"}


def official(pred_path, ref_path) -> dict:
    evaluator = Panoptica_Evaluator.load_from_config(str(config_path("gli")))
    return evaluate_single_exam(str(pred_path), str(ref_path), "case", evaluator)


def write(path, labels, like: sitk.Image | None = None):
    image = sitk.GetImageFromArray(labels.astype(np.uint8))
    if like is not None:
        image.CopyInformation(like)
    sitk.WriteImage(image, str(path))
    return path


def assert_same(ours, theirs):
    for region, key in REGIONS.items():
        m, t = ours.lesionwise[region], theirs[key]
        assert (m.tp, m.fp, m.fn) == (t["tp"], t["fp"], t["fn"]), region
        for mine, name in ((m.dice, "sq_dsc"), (m.hd95, "sq_hd95"), (m.nsd, "sq_nsd"),
                           (m.f1, "rq")):
            assert mine == pytest.approx(t[name], nan_ok=True), (region, name)


def test_generated_case_equals_the_official_tool(tmp_path):
    ref = np.zeros((40, 48, 48), dtype=np.uint8)
    ref[5:20, 5:25, 5:25] = 2
    ref[8:16, 8:20, 8:20] = 1
    ref[10:14, 10:18, 10:18] = 3
    ref[30:36, 35:42, 35:42] = 3                       # a second enhancing lesion, missed
    pred = np.roll(ref, 2, axis=2)
    pred[30:36, 35:42, 30:48] = 0
    pred[30:34, 2:6, 30:34] = 2                        # a spurious lesion
    ours = evaluate_files(write(tmp_path / "p.nii.gz", pred), write(tmp_path / "r.nii.gz", ref),
                          lesion_wise=True)
    assert_same(ours, official(tmp_path / "p.nii.gz", tmp_path / "r.nii.gz"))


@pytest.mark.slow
def test_real_case_equals_the_official_tool(tmp_path, brats_case):
    reference = sitk.ReadImage(str(next(brats_case.glob("*_seg.nii*"))))
    ref = sitk.GetArrayFromImage(reference)
    ref = np.where(ref == 4, 3, ref)                   # the official config reads 2023 labels
    pred = ref.copy()
    pred[ndimage.binary_erosion(ref == 3, iterations=1) ^ (ref == 3)] = 1
    pred = np.roll(pred, 2, axis=1)
    z, y, x = (int(v) for v in np.argwhere(ref > 0).min(axis=0))
    pred[max(z - 12, 0):max(z - 6, 1), y:y + 6, x:x + 6] = 3    # a spurious lesion
    ours = evaluate_files(write(tmp_path / "p.nii.gz", pred, reference),
                          write(tmp_path / "r.nii.gz", ref, reference), lesion_wise=True)
    assert_same(ours, official(tmp_path / "p.nii.gz", tmp_path / "r.nii.gz"))
