"""Post-processing on hand-made label maps: small components, K-means edema relabelling."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from omnet.labels import BRATS2018, BRATS2023
from omnet.postprocessing import (
    drop_scant_enhancing,
    postprocess,
    relabel_edema_kmeans,
    relabel_edema_kmeans_file,
    remove_small_components,
    remove_small_components_file,
)


def _cube(labels, corner, size, value):
    z, y, x = corner
    labels[z:z + size[0], y:y + size[1], x:x + size[2]] = value


def test_components_below_a_tenth_of_the_largest_are_removed():
    labels = np.zeros((40, 40, 40), dtype=np.uint8)
    _cube(labels, (0, 0, 0), (10, 10, 10), 2)     # 1000 voxels: V_max, tau = 100
    _cube(labels, (20, 20, 20), (10, 10, 1), 1)   # 100 voxels: kept (not below tau)
    _cube(labels, (20, 0, 20), (9, 11, 1), 4)     # 99 voxels: removed
    _cube(labels, (35, 35, 35), (1, 1, 1), 4)     # 1 voxel: removed
    out = remove_small_components(labels)
    assert out[0, 0, 0] == 2 and out[20, 20, 20] == 1
    assert out[20, 0, 20] == 0 and out[35, 35, 35] == 0
    assert (labels[20, 0, 20], labels[35, 35, 35]) == (4, 4)  # input untouched


def test_threshold_is_capped_at_2000_voxels():
    labels = np.zeros((60, 60, 60), dtype=np.uint8)
    _cube(labels, (0, 0, 0), (30, 30, 30), 2)       # 27000: 0.1 * V_max = 2700 > 2000
    _cube(labels, (40, 40, 40), (10, 10, 20), 2)    # 2000 voxels: kept
    _cube(labels, (40, 0, 40), (10, 10, 19), 1)     # 1900 voxels: removed
    out = remove_small_components(labels)
    assert out[45, 45, 45] == 2 and out[45, 5, 45] == 0


def test_diagonal_neighbours_are_one_component():
    labels = np.zeros((5, 5, 5), dtype=np.uint8)
    labels[1, 1, 1] = labels[2, 2, 2] = 2  # 26-connected: one component of 2 voxels
    np.testing.assert_array_equal(remove_small_components(labels), labels)


def _tumour_with_two_edema_populations(enhancing_voxels: int):
    labels = np.zeros((20, 20, 20), dtype=np.uint8)
    images = np.zeros((4, 20, 20, 20), dtype=np.float32)
    _cube(labels, (2, 2, 2), (10, 10, 10), 2)
    dark = np.zeros_like(labels, dtype=bool)
    dark[2:12, 2:12, 2:6] = True                      # 400 voxels with a low T1c
    images[:, labels == 2] = 1.0
    images[2][dark] = -2.0
    images[0][dark] = 0.5
    flat = np.flatnonzero(~dark & (labels == 2))[:enhancing_voxels]
    labels.ravel()[flat] = 4
    return labels, images, dark


def test_kmeans_turns_the_darker_t1c_cluster_of_edema_into_necrosis():
    labels, images, dark = _tumour_with_two_edema_populations(enhancing_voxels=10)
    out = relabel_edema_kmeans(labels, images)
    assert (out[dark] == 1).all()
    assert ((out == 2) == ((labels == 2) & ~dark)).all()
    assert ((out == 4) == (labels == 4)).all() and ((out > 0) == (labels > 0)).all()


def test_kmeans_leaves_tumours_with_enough_enhancement_alone():
    labels, images, _ = _tumour_with_two_edema_populations(enhancing_voxels=60)  # 6% > 5%
    np.testing.assert_array_equal(relabel_edema_kmeans(labels, images), labels)


def test_kmeans_respects_the_label_scheme():
    labels, images, dark = _tumour_with_two_edema_populations(enhancing_voxels=0)
    out = relabel_edema_kmeans(labels, images, scheme=BRATS2023)
    assert (out[dark] == BRATS2023.necrotic).all()


def test_postprocess_runs_both_steps_and_counts_changes():
    labels, images, dark = _tumour_with_two_edema_populations(enhancing_voxels=0)
    labels[18, 18, 18] = 2  # a stray voxel
    out, summary = postprocess(labels, images)
    assert out[18, 18, 18] == 0 and summary.removed_voxels == 1
    assert summary.relabelled_voxels == int(dark.sum())


@pytest.mark.parametrize("enhancing, kept", [(99, False), (100, True), (0, True)])
def test_a_scant_enhancing_tumour_becomes_necrotic_core(enhancing, kept):
    labels = np.zeros((30, 30, 30), dtype=np.uint8)
    labels[5:25, 5:25, 5:25] = 2
    labels.ravel()[np.flatnonzero(labels == 2)[:enhancing]] = 4
    out = drop_scant_enhancing(labels)
    if kept:
        np.testing.assert_array_equal(out, labels)
    else:
        assert not (out == 4).any() and (out == 1).sum() == enhancing
        assert ((out > 0) == (labels > 0)).all()


def test_postprocess_drops_scant_enhancing_last_and_counts_it():
    labels, images, dark = _tumour_with_two_edema_populations(enhancing_voxels=10)
    out, summary = postprocess(labels, images, scheme=BRATS2018)
    assert not (out == 4).any()
    assert summary.enhancing_dropped_voxels == 10
    assert summary.relabelled_voxels == int(dark.sum())  # K-means saw the 10 enhancing voxels


def _save(array, path, spacing=(1.0, 1.0, 2.0)):
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    image.SetOrigin((3.0, -2.0, 1.0))
    sitk.WriteImage(image, str(path))
    return image


def test_file_functions_keep_geometry(tmp_path):
    labels, images, dark = _tumour_with_two_edema_populations(enhancing_voxels=0)
    labels[18, 18, 18] = 2
    reference = _save(labels, tmp_path / "pred.nii.gz")
    remove_small_components_file(tmp_path / "pred.nii.gz", tmp_path / "clean.nii.gz")
    clean = sitk.ReadImage(str(tmp_path / "clean.nii.gz"))
    assert clean.GetSpacing() == reference.GetSpacing()
    assert clean.GetOrigin() == reference.GetOrigin()
    assert sitk.GetArrayFromImage(clean)[18, 18, 18] == 0
    case = tmp_path / "case"
    case.mkdir()
    raw = images * 100 + 500 * (labels > 0)  # positive "scanner" values, zero outside
    for role, channel in zip(("flair", "t1", "t1ce", "t2"), raw):
        _save(channel.astype(np.float32), case / f"p_{role}.nii.gz")
    relabel_edema_kmeans_file(tmp_path / "clean.nii.gz", case, tmp_path / "relabelled.nii.gz")
    out = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "relabelled.nii.gz")))
    labels[18, 18, 18] = 0  # removed above
    assert (out[dark] == 1).all() and (out[(labels == 2) & ~dark] == 2).all()
    assert not list(tmp_path.glob(".*partial*"))
