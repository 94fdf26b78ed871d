"""The synthetic demo case: BraTS label nesting, contrast of each sequence, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage

from omnet.data.discovery import find_case_files
from omnet.demo.anatomy import CSF, EDEMA, ENHANCING, GREY_MATTER, NECROSIS, WHITE_MATTER
from omnet.demo.generator import DemoSettings, make_demo_case, write_demo_case

SMALL = DemoSettings(size=(96, 96, 62), seed=3)  # 2.5 mm voxels: about a second to make


@pytest.fixture(scope="module")
def case():
    return make_demo_case(SMALL)


def test_grid_and_values(case):
    assert case.labels.shape == (62, 96, 96)
    assert case.spacing == pytest.approx((2.5, 2.5, 2.5))
    assert set(np.unique(case.labels)) == {0, 1, 2, 4}
    for image in case.images.values():
        assert image.shape == case.labels.shape and image.dtype == np.int16


def test_labels_nest_as_brats_requires(case):
    necrotic, edema, enhancing = (case.labels == v for v in (1, 2, 4))
    core = necrotic | enhancing
    whole = core | edema
    brain = case.images["flair"] > 0
    six = ndimage.generate_binary_structure(3, 1)
    # The necrotic core is enclosed by the enhancing rim, the core by edema, all in the brain.
    assert not np.any(ndimage.binary_dilation(necrotic, six) & ~core)
    assert not np.any(ndimage.binary_dilation(core, six) & ~whole)
    assert not np.any(whole & ~brain)
    assert necrotic.sum() > 0 and enhancing.sum() > 0 and edema.sum() > core.sum()
    # Skull-stripped: every sequence is zero outside the same brain and positive inside it.
    for image in case.images.values():
        assert np.array_equal(image > 0, brain)


def tissue_means(case, sequence: str) -> dict[int, float]:
    image = case.images[sequence].astype(float)
    return {t: image[case.tissues == t].mean()
            for t in (CSF, GREY_MATTER, WHITE_MATTER, EDEMA, NECROSIS, ENHANCING)}


def test_t1_contrast(case):
    m = tissue_means(case, "t1")
    assert m[WHITE_MATTER] > m[GREY_MATTER] > m[CSF]
    core = case.images["t1"][np.isin(case.tissues, (NECROSIS, ENHANCING))].mean()
    assert core < m[GREY_MATTER] < m[WHITE_MATTER]  # tumour core hypointense


def test_t1c_enhancing_rim_is_brightest(case):
    m = tissue_means(case, "t1ce")
    assert all(m[ENHANCING] > m[t] for t in m if t != ENHANCING)
    assert m[ENHANCING] > 1.5 * m[WHITE_MATTER]
    assert m[NECROSIS] < m[WHITE_MATTER]  # the necrotic centre does not enhance


def test_t2_edema_bright_and_csf_brightest(case):
    m = tissue_means(case, "t2")
    assert m[EDEMA] > m[GREY_MATTER] > m[WHITE_MATTER]
    assert all(m[CSF] > m[t] for t in m if t != CSF)


def test_flair_edema_bright_and_csf_darkest(case):
    m = tissue_means(case, "flair")
    assert m[EDEMA] > m[GREY_MATTER] and m[EDEMA] > m[WHITE_MATTER] and m[EDEMA] > m[CSF]
    assert all(m[CSF] < m[t] for t in m if t != CSF)


def test_bias_field_and_noise_as_specified(case):
    size, seed = SMALL.size, SMALL.seed
    flat = make_demo_case(DemoSettings(size=size, seed=seed, bias=0.0))
    quiet = make_demo_case(DemoSettings(size=size, seed=seed, bias=0.0, noise=0.0))
    brain = case.images["t1"] > 0
    # Bias: a smooth multiplicative field makes the eight octants of the brain differ in
    # mean brightness by several percent (the unbiased twin has the same anatomy and noise).
    ratio = case.images["t1"] / np.maximum(flat.images["t1"], 1)
    index = np.indices(brain.shape)
    octant = sum((index[i] > brain.shape[i] // 2).astype(int) << i for i in range(3))
    means = [ratio[brain & (octant == k)].mean() for k in range(8)]
    assert max(means) / min(means) > 1.05
    # Noise: Rician with sigma = 2.5% of white matter (550 on T1): nearly Gaussian here.
    white = case.tissues == WHITE_MATTER
    difference = flat.images["t1"].astype(float)[white] - quiet.images["t1"][white]
    assert np.std(difference) == pytest.approx(0.025 * 550, rel=0.1)
    assert abs(np.mean(difference)) < 1.0


def test_same_seed_same_case_other_seed_other_case(case):
    again = make_demo_case(SMALL)
    assert np.array_equal(again.labels, case.labels)
    assert all(np.array_equal(again.images[k], case.images[k]) for k in case.images)
    other = make_demo_case(DemoSettings(size=SMALL.size, seed=4))
    assert not np.array_equal(other.labels, case.labels)
    assert not np.array_equal(other.images["flair"], case.images["flair"])


def test_written_case_follows_brats_2018_naming(case, tmp_path):
    paths = write_demo_case(case, tmp_path / "demo", "demo")
    assert sorted(p.name for p in paths.values()) == sorted(
        f"demo_{r}.nii.gz" for r in ("flair", "t1", "t1ce", "t2", "seg"))
    found = find_case_files(tmp_path / "demo", need_seg=True)
    assert found.t1ce == paths["t1ce"] and found.seg == paths["seg"]
    seg = sitk.ReadImage(str(paths["seg"]))
    flair = sitk.ReadImage(str(paths["flair"]))
    assert seg.GetSpacing() == pytest.approx(case.spacing)
    assert seg.GetOrigin() == flair.GetOrigin()
    assert np.array_equal(sitk.GetArrayFromImage(seg), case.labels)
    assert not list(tmp_path.glob("demo/.*"))  # no temporary files left behind


def test_full_size_default_is_brats_geometry():
    settings = DemoSettings()
    assert settings.size == (240, 240, 155)
    assert settings.spacing == (1.0, 1.0, 1.0)


@pytest.mark.parametrize("bad", [{"size": (20, 96, 62)}, {"size": (96, 96)}, {"noise": -1.0}])
def test_bad_settings(bad):
    with pytest.raises(ValueError):
        DemoSettings(**bad)
