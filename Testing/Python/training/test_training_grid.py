"""Training caches each case on the grid ``omnet segment`` feeds the network: the model
card's spacing in the canonical orientation, whatever the spacing and orientation stored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from omnet.data.discovery import find_case_files
from omnet.data.imageio import align_case, read_case
from omnet.labels import BRATS2018, labels_to_classes
from omnet.preparation.stage import prepare
from omnet.preprocessing.prepare import prepare_network_input
from omnet.training.cache import preprocess_case
from omnet.training.dataset import check_dataset, format_check_table

ROLES = ("flair", "t1", "t1ce", "t2", "seg")
#: Network classes of each BraTS region (1 necrotic, 2 edema, 3 enhancing).
REGIONS = {"whole": (1, 2, 3), "core": (1, 3), "enhancing": (3,)}


def _resampled(image: sitk.Image, spacing: tuple[float, float, float],
               nearest: bool) -> sitk.Image:
    """``image`` over the same field of view at ``spacing`` (labels nearest neighbour)."""
    size = [round(n * s / t) for n, s, t in zip(image.GetSize(), image.GetSpacing(), spacing)]
    origin = [o + (t - s) / 2 for o, s, t in zip(image.GetOrigin(), image.GetSpacing(), spacing)]
    return sitk.Resample(image, size, sitk.Transform(),
                         sitk.sitkNearestNeighbor if nearest else sitk.sitkLinear, origin,
                         spacing, image.GetDirection(), 0.0, image.GetPixelID())


def _sagittal(image: sitk.Image, nearest: bool) -> sitk.Image:
    """The same voxels stored with permuted, reversed axes (a sagittal series' order)."""
    return sitk.Flip(sitk.PermuteAxes(image, [2, 0, 1]), [False, True, False])


COPIES = {"fine": lambda image, nearest: _resampled(image, (0.8, 0.8, 0.8), nearest),
          "sagittal": _sagittal}


@pytest.fixture(scope="module")
def copies(brats_case: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real case as is (linked), re-sampled to 0.8 mm, and stored sagittally."""
    root = tmp_path_factory.mktemp("grids")
    source = brats_case.name
    for name, make in {"orig": None, **COPIES}.items():
        folder = root / f"Brats18_{name}_1"
        folder.mkdir()
        for role in ROLES:
            path = brats_case / f"{source}_{role}.nii.gz"
            target = folder / f"{folder.name}_{role}.nii.gz"
            if make is None:
                target.symlink_to(path)
            else:
                sitk.WriteImage(make(sitk.ReadImage(str(path)), role == "seg"), str(target))
    return root


def _cached(folder: Path):
    return preprocess_case(find_case_files(folder, need_seg=True))


def _classes_image(classes: np.ndarray, facts: dict) -> sitk.Image:
    """The cached classes as an image placed where the cache says they lie."""
    grid = facts["grid"]
    image = sitk.GetImageFromArray(classes)
    start = [side[0] for side in reversed(facts["bbox"])]
    image.SetSpacing(grid["spacing"])
    image.SetDirection(grid["direction"])
    image.SetOrigin([o + i * s for o, i, s in zip(grid["origin"], start, grid["spacing"])])
    return image


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b))


@pytest.mark.parametrize("name", list(COPIES))
def test_a_copy_at_another_spacing_or_orientation_is_cached_on_the_networks_grid(copies, name):
    folder = copies / f"Brats18_{name}_1"
    images, classes, facts = _cached(folder)
    prepared = prepare(read_case(find_case_files(folder)))
    assert classes.shape == prepared.volume.shape[1:]
    assert facts["spacing_zyx"] == [1.0, 1.0, 1.0]
    assert facts["grid"]["direction"] == [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    assert np.array_equal(images, prepared.volume.astype(np.float16))  # what segment feeds
    _, original, original_facts = _cached(copies / "Brats18_orig_1")
    reference = _classes_image(original, original_facts)
    moved = sitk.GetArrayFromImage(sitk.Resample(_classes_image(classes, facts), reference,
                                                 sitk.Transform(), sitk.sitkNearestNeighbor))
    for region, values in REGIONS.items():
        assert _dice(np.isin(moved, values), np.isin(original, values)) >= 0.95, region


@pytest.mark.parametrize("name", ["Brats18_2013_2_1", "Brats18_CBICA_ABM_1"])
def test_a_brats_case_on_the_networks_grid_is_cached_as_before(brats_dir, name):
    """BraTS (1 mm, LPS) needs no resampling: the arrays are those of the cache before
    training used the canonical grid (every sequence on the T1c's grid, cropped there),
    also for a brain that reaches the scan's last slice (ABM)."""
    case = find_case_files(brats_dir / name, need_seg=True)
    loaded = align_case(read_case(case))
    before = prepare_network_input(loaded.images)
    before_classes = labels_to_classes(loaded.seg[before.box], before.brain, BRATS2018)
    images, classes, facts = preprocess_case(case)
    assert np.array_equal(images, before.volume.astype(np.float16))
    assert np.array_equal(classes, before_classes.astype(np.uint8))
    assert facts["resampled"] == [] and facts["grid_change"] is None


def test_check_says_which_cases_are_resampled_or_reoriented(copies):
    rows = {row.case: row for row in check_dataset(copies)}
    assert rows["Brats18_orig_1"].grid_change is None
    fine = "resampled 0.8 x 0.8 x 0.8 mm LPS -> 1 x 1 x 1 mm LPS"
    assert rows["Brats18_fine_1"].grid_change == fine
    assert rows["Brats18_sagittal_1"].grid_change == ("reoriented 1 x 1 x 1 mm SRP -> "
                                                      "1 x 1 x 1 mm LPS, voxels copied")
    lines = format_check_table(list(rows.values())).splitlines()
    row = next(line for line in lines if line.startswith("Brats18_fine_1 "))
    assert row.endswith(f" yes  0 1 2 4  ({fine})")
