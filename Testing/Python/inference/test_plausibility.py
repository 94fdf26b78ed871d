"""A label map that cannot be a glioma's (whole tumour over half the brain) is refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from omnet.errors import InputError
from omnet.inference.plausibility import MAX_TUMOUR_SHARE, check_tumour_share, tumour_share
from omnet.labels import BRATS2018


def _brain_with_tumour(tumour_voxels: int) -> tuple[np.ndarray, np.ndarray]:
    """A 10 x 10 x 10 brain (1,000 voxels) inside a 12^3 box; ``tumour_voxels`` of it edema
    and enhancing, plus tumour labels outside the brain that must not count."""
    brain = np.zeros((12, 12, 12), bool)
    brain[1:11, 1:11, 1:11] = True
    labels = np.zeros(brain.shape, np.uint8)
    inside = np.flatnonzero(brain.ravel())[:tumour_voxels]
    labels.ravel()[inside] = np.where(np.arange(tumour_voxels) % 2, BRATS2018.edema,
                                      BRATS2018.enhancing)
    labels[0] = BRATS2018.necrotic     # 144 voxels outside the brain
    return labels, brain


@pytest.mark.parametrize("voxels, share", [(0, 0.0), (170, 0.17), (500, 0.5)])
def test_a_share_of_the_brain_up_to_half_is_kept(voxels, share):
    labels, brain = _brain_with_tumour(voxels)
    assert tumour_share(labels, brain, BRATS2018) == pytest.approx(share)
    assert check_tumour_share(labels, brain, BRATS2018) == pytest.approx(share)


def test_more_than_half_of_the_brain_is_refused_in_one_line():
    labels, brain = _brain_with_tumour(501)
    with pytest.raises(InputError) as error:
        check_tumour_share(labels, brain, BRATS2018)
    assert "50% of the brain tumour" in str(error.value) and "\n" not in str(error.value)


def test_a_model_of_ones_own_is_named_as_a_cause():
    # A few hundred iterations of `omnet train --preset quick` paint tumour everywhere; the
    # refusal then blamed only the input, and the user of a self-trained model was stuck.
    labels, brain = _brain_with_tumour(600)
    with pytest.raises(InputError) as bundled:
        check_tumour_share(labels, brain, BRATS2018)
    assert "--model" not in str(bundled.value)
    with pytest.raises(InputError) as own:
        check_tumour_share(labels, brain, BRATS2018, own_model=True)
    assert "60% of the brain tumour" in str(own.value) and "\n" not in str(own.value)
    assert "the model (--model) was trained long enough" in str(own.value)


def test_only_the_bundled_folder_s_files_are_bundled(tmp_path):
    from omnet.bundled import BUNDLED_DIR, is_bundled

    assert is_bundled(BUNDLED_DIR / "omnet-cga-w16.safetensors")
    assert not is_bundled(tmp_path / "omnet-cga-w16.safetensors")
    assert not is_bundled(None)


def test_the_limit_is_far_above_the_largest_training_tumour():
    assert MAX_TUMOUR_SHARE >= 2.5 * 0.166    # Brats18_TCIA10_637_1: 232 mL, 16.6 % of brain


def test_the_share_goes_into_the_report(phantom_case, tiny_model_file, tmp_path):
    from omnet.inference.pipeline import segment

    folder = phantom_case(shape=(16, 24, 24), name="p1")
    result = segment(folder, tmp_path / "out.nii.gz", model=tiny_model_file, device="cpu",
                     report=tmp_path / "report.json")
    report = json.loads((tmp_path / "report.json").read_text())
    whole_ml = result.volumes_ml["whole"]
    assert 0 < report["tumour_share_of_brain"] <= MAX_TUMOUR_SHARE
    assert (whole_ml == 0) == (report["tumour_share_of_brain"] == 0)


def test_a_refused_segmentation_writes_nothing(phantom_case, tiny_model_file, tmp_path,
                                               monkeypatch):
    from omnet.inference.pipeline import segment

    monkeypatch.setattr("omnet.inference.plausibility.MAX_TUMOUR_SHARE", 0.0)
    folder = phantom_case(shape=(16, 24, 24), name="p2")
    out = tmp_path / "results"
    with pytest.raises(InputError, match=r"cannot be right.*trained long enough"):
        segment(folder, out / "out.nii.gz", model=tiny_model_file, device="cpu",
                report=out / "report.json", probabilities_dir=out / "prob")
    assert not out.exists() or list(out.iterdir()) == []
