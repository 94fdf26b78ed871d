"""``output_grid="network"`` (and ``auto`` with a thick T1c): every output on the 1 mm
axis-aligned grid the network ran on, the same answer as the default's on the T1c's grid
before its slices coarsen it."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from omnet.data.discovery import find_case_files
from omnet.data.imageio import read_case
from omnet.demo.variants import make_variant
from omnet.errors import InputError
from omnet.inference.settings import SegmentSettings


@pytest.fixture(scope="module")
def thick_case(brats_dir):
    raw = read_case(find_case_files(brats_dir / "Brats18_TCIA02_135_1", need_seg=True))
    return make_variant("thick_axial", raw.images, raw.seg).images


@pytest.mark.slow
def test_network_grid_outputs_are_the_default_answer_before_the_t1c_slices(thick_case, tmp_path):
    from omnet import segment

    default = segment(thick_case, None, device="cpu")
    fine = segment(thick_case, None, device="cpu", output_grid="auto",
                   brain_mask=tmp_path / "brain.nii.gz")
    assert default.labels.GetSpacing()[2] == pytest.approx(5.0)
    assert fine.labels.GetSpacing() == pytest.approx((1.0, 1.0, 1.0))
    assert fine.labels.GetDirection() == pytest.approx(np.eye(3).ravel())
    brain = sitk.ReadImage(str(tmp_path / "brain.nii.gz"))
    assert brain.GetSize() == fine.labels.GetSize()
    assert brain.GetOrigin() == pytest.approx(fine.labels.GetOrigin())
    # the fine label map taken onto the T1c's 5 mm grid by nearest neighbour is the default's
    coarse = sitk.Resample(fine.labels, default.labels, sitk.Transform(),
                           sitk.sitkNearestNeighbor, 0)
    same = np.mean(sitk.GetArrayViewFromImage(coarse) == sitk.GetArrayViewFromImage(
        default.labels))
    assert same > 0.999
    assert fine.report["settings"]["output_grid"] == "auto"
    assert fine.report["output_grid"] == "network" and default.report["output_grid"] == "reference"
    assert fine.volumes_ml["whole"] == pytest.approx(default.volumes_ml["whole"], rel=0.1)


def test_an_unknown_output_grid_is_one_line():
    with pytest.raises(InputError,
                       match="unknown output-grid 'atlas'; choose reference, network, auto"):
        SegmentSettings(output_grid="atlas")
