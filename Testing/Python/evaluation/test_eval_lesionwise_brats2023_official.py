"""Cross-check of ``--lesion-rules brats2023`` against the official BraTS 2023 script.

The script (``metrics.py`` of https://github.com/rachitsaluja/BraTS-2023-Metrics, commit
43c9052) is never part of OMNet. To run these tests, check it out and point
``OMNET_BRATS2023_METRICS`` at that folder; it needs its own pinned packages (pandas 1.3,
numpy < 2, nibabel, connected-components-3d), so point ``OMNET_BRATS2023_PYTHON`` at an
interpreter that has them (default: this one). Each case is written once and read by both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage

from omnet.evaluation.files import evaluate_files

SCRIPT_DIR = os.environ.get("OMNET_BRATS2023_METRICS", "")
PYTHON = os.environ.get("OMNET_BRATS2023_PYTHON", sys.executable)

pytestmark = pytest.mark.skipif(
    not (SCRIPT_DIR and (Path(SCRIPT_DIR) / "metrics.py").is_file()),
    reason="the official BraTS 2023 script is not here: set OMNET_BRATS2023_METRICS to a "
           "checkout of rachitsaluja/BraTS-2023-Metrics (and OMNET_BRATS2023_PYTHON to an "
           "interpreter with its packages)")

REGIONS = {"whole": "WT", "core": "TC", "enhancing": "ET"}
#: Runs the official function on (prediction, reference) pairs and prints its figures.
DRIVER = """
import json, sys, warnings
warnings.filterwarnings("ignore")
sys.path.insert(0, sys.argv[1])
import metrics
out = []
for pred, ref in zip(sys.argv[2::2], sys.argv[3::2]):
    table = metrics.get_LesionWiseResults(pred, ref, "BraTS-GLI").set_index("Labels")
    out.append({label: {key: float(table.loc[label, key]) for key in (
        "Num_TP", "Num_FP", "Num_FN", "LesionWise_Score_Dice", "LesionWise_Score_HD95")}
        for label in ("WT", "TC", "ET")})
print(json.dumps(out))
"""


def official(pairs: list[tuple[Path, Path]]) -> list[dict]:
    args = [str(path) for pair in pairs for path in pair]
    done = subprocess.run([PYTHON, "-c", DRIVER, SCRIPT_DIR, *args], capture_output=True,
                          text=True, timeout=1200, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def write(path: Path, labels: np.ndarray, spacing=(1.0, 1.0, 1.0), like=None) -> Path:
    image = sitk.GetImageFromArray(labels.astype(np.uint8))
    if like is not None:
        image.CopyInformation(like)
    else:
        image.SetSpacing(spacing)
    sitk.WriteImage(image, str(path))
    return path


def assert_same(ours, theirs: dict) -> None:
    for region, label in REGIONS.items():
        m, t = ours.lesionwise[region], theirs[label]
        assert (m.tp, m.fp, m.fn) == (t["Num_TP"], t["Num_FP"], t["Num_FN"]), region
        assert m.dice == pytest.approx(t["LesionWise_Score_Dice"], rel=1e-9, abs=1e-12)
        assert m.hd95 == pytest.approx(t["LesionWise_Score_HD95"], rel=1e-9, abs=1e-12)


def blobs(rng, shape, count, largest):
    labels = np.zeros(shape, dtype=np.uint8)
    grid = np.indices(shape)
    for _ in range(count):
        centre = [rng.integers(0, n) for n in shape]
        radius = rng.uniform(1, largest)
        inside = sum((g - c) ** 2 for g, c in zip(grid, centre)) <= radius ** 2
        labels[inside] = rng.integers(1, 4)
    return labels


def generated_cases(rng):
    """Blobs of BraTS 2023 labels (small and large), shifted and speckled predictions,
    some predictions unrelated or empty, on isotropic and anisotropic grids."""
    shape = (48, 44, 40)
    for index in range(12):
        ref = blobs(rng, shape, int(rng.integers(0, 7)), 7)
        pred = np.roll(ref, int(rng.integers(-3, 4)), axis=int(rng.integers(0, 3)))
        if index % 3 == 1:
            pred = np.where(rng.random(shape) > 0.9999, rng.integers(1, 4, shape), pred)
        if index % 4 == 0:
            pred = blobs(rng, shape, int(rng.integers(0, 5)), 6)
        if index % 7 == 3:
            pred[:] = 0
        yield ref, pred, (1.0, 1.0, 1.0) if index % 2 == 0 else (1.2, 0.9, 2.0)


def test_generated_cases_equal_the_official_script(tmp_path):
    pairs = []
    for index, (ref, pred, spacing) in enumerate(generated_cases(np.random.default_rng(7))):
        pairs.append((write(tmp_path / f"p{index}.nii.gz", pred, spacing),
                      write(tmp_path / f"r{index}.nii.gz", ref, spacing)))
    for (pred, ref), theirs in zip(pairs, official(pairs)):
        assert_same(evaluate_files(pred, ref, lesion_wise=True, lesion_rules="brats2023"),
                    theirs)


@pytest.mark.slow
def test_real_case_equals_the_official_script(tmp_path, brats_case):
    reference = sitk.ReadImage(str(next(brats_case.glob("*_seg.nii*"))))
    ref = sitk.GetArrayFromImage(reference)
    ref = np.where(ref == 4, 3, ref)                   # the script reads 2023 labels
    pred = ref.copy()
    pred[ndimage.binary_erosion(ref == 3, iterations=1) ^ (ref == 3)] = 1
    pred = np.roll(pred, 2, axis=1)
    z, y, x = (int(v) for v in np.argwhere(ref > 0).min(axis=0))
    pred[max(z - 12, 0):max(z - 6, 1), y:y + 6, x:x + 6] = 3    # a spurious lesion
    pair = (write(tmp_path / "p.nii.gz", pred, like=reference),
            write(tmp_path / "r.nii.gz", ref, like=reference))
    assert_same(evaluate_files(*pair, lesion_wise=True, lesion_rules="brats2023"),
                official([pair])[0])
