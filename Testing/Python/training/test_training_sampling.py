"""Patch samplers, patch extraction, augmentation and online data transfer."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import memory_case, phantom_classes
from scipy import ndimage

from omnet.labels import EDEMA, ENHANCING, NECROTIC, NORMAL
from omnet.training.config import AugmentSettings
from omnet.training.patches import augment_patch, extract_patch
from omnet.training.sampling import centre_candidates, sample_batch
from omnet.training.transfer import task_groups, task_target

NO_AUGMENT = AugmentSettings(augment=False)


def test_centre_candidates_are_the_three_regions():
    classes = phantom_classes()
    centres = centre_candidates(classes, dilation=2)
    tumour = np.isin(classes, (1, 2, 3))
    # independent dilation: a voxel is within distance 2 of a tumour voxel
    distance = ndimage.distance_transform_edt(~tumour)
    assert set(centres[1]) == set(np.flatnonzero(classes > 0))
    assert set(centres[2]) == set(np.flatnonzero(distance <= 2))
    assert set(centres[3]) == set(np.flatnonzero(np.isin(classes, (1, 3))))


def test_each_sampler_centres_patches_in_its_region():
    case = memory_case()
    rng = np.random.default_rng(0)
    batch = sample_batch([case], (1, 2, 3), 30, (8, 16, 16), rng, NO_AUGMENT)
    tumour = np.isin(case.classes, (1, 2, 3))
    near_tumour = ndimage.distance_transform_edt(~tumour) <= 5
    for task, (_, centre) in zip(batch.source, batch.origins):
        label = case.classes[centre]
        if task == 1:
            assert label != 0
        elif task == 2:
            assert near_tumour[centre]
        else:
            assert label in (NECROTIC, ENHANCING)
    assert list(batch.source) == [1] * 30 + [2] * 30 + [3] * 30
    # the centre voxel of every (unaugmented) patch is the sampled voxel
    for k, (_, centre) in enumerate(batch.origins):
        assert batch.classes[k][4, 8, 8] == case.classes[centre]


def test_sampling_depends_only_on_the_generator():
    case = memory_case()
    a = sample_batch([case], (1, 2), 3, (8, 16, 16), np.random.default_rng(5), AugmentSettings())
    b = sample_batch([case], (1, 2), 3, (8, 16, 16), np.random.default_rng(5), AugmentSettings())
    assert np.array_equal(a.images, b.images) and a.origins == b.origins


def test_task_three_falls_back_when_no_case_has_a_core():
    classes = phantom_classes(core_radius=-1.0)
    case = memory_case(core_radius=-1.0)
    assert len(case.centres[3]) == 0
    batch = sample_batch([case], (3,), 5, (8, 16, 16), np.random.default_rng(0), NO_AUGMENT)
    tumour = np.isin(classes, (1, 2, 3))
    near = ndimage.distance_transform_edt(~tumour) <= 5
    assert all(near[c] for _, c in batch.origins)


def test_extract_patch_pads_outside_with_zero():
    volume = np.arange(4 * 5 * 6, dtype=np.float32).reshape(1, 4, 5, 6) + 1
    patch = extract_patch(volume, (0, 0, 0), (2, 2, 2))
    assert patch.shape == (1, 2, 2, 2)
    assert np.all(patch[0, 0] == 0) and np.all(patch[0, :, 0] == 0)
    assert patch[0, 1, 1, 1] == volume[0, 0, 0, 0]
    inside = extract_patch(volume, (2, 2, 3), (2, 2, 2))
    assert np.array_equal(inside, volume[:, 1:3, 1:3, 2:4])
    assert not extract_patch(volume, (40, 2, 2), (2, 2, 2)).any()


def test_augmentation_flips_images_and_labels_together():
    rng = np.random.default_rng(3)
    classes = np.random.default_rng(1).integers(1, 5, (4, 6, 8)).astype(np.uint8)
    image = np.stack([classes.astype(np.float32) * (c + 1) for c in range(4)])
    settings = AugmentSettings(intensity_scale=0.0, intensity_shift=0.0)
    flipped_any = False
    for _ in range(8):
        out_image, out_classes = augment_patch(image, classes, rng, settings)
        for c in range(4):
            assert np.array_equal(out_image[c], out_classes.astype(np.float32) * (c + 1))
        flipped_any |= not np.array_equal(out_classes, classes)
    assert flipped_any


def test_intensity_augmentation_stays_inside_the_brain_and_in_bounds():
    classes = np.zeros((4, 4, 4), np.uint8)
    classes[1:3] = NORMAL
    image = np.ones((4, 4, 4, 4), np.float32) * (classes > 0)
    settings = AugmentSettings(flip_axes=[], intensity_scale=0.2, intensity_shift=0.1)
    out, _ = augment_patch(image, classes, np.random.default_rng(0), settings)
    assert np.all(out[:, classes == 0] == 0)
    inside = out[:, classes > 0]
    assert np.all((inside >= 0.8 - 0.1 - 1e-6) & (inside <= 1.2 + 0.1 + 1e-6))
    for c in range(4):  # one scale/shift per channel
        assert np.ptp(out[c][classes > 0]) < 1e-6
    assert np.array_equal(image, np.ones((4, 4, 4, 4), np.float32) * (classes > 0))


def _patches(fractions: list[tuple[float, float]], voxels: int = 100) -> np.ndarray:
    """Patches of 100 voxels: the first fraction NCR (core), then edema up to tumour."""
    out = np.full((len(fractions), voxels), NORMAL, np.uint8)
    for k, (tumour, core) in enumerate(fractions):
        n_core, n_tumour = round(core * voxels), round(tumour * voxels)
        out[k, :n_core] = NECROTIC
        out[k, n_core:n_tumour] = EDEMA
    return out.reshape(len(fractions), 4, 5, 5)


def test_transfer_uses_the_papers_thresholds():
    classes = _patches([(0.39, 0.0), (0.40, 0.0), (0.6, 0.49), (0.6, 0.5),  # task-1 patches
                        (1.0, 0.5), (1.0, 0.2),                                # task-2 patches
                        (0.9, 0.9)])                                           # task-3 patch
    source = np.array([1, 1, 1, 1, 2, 2, 3])
    groups = task_groups(classes, source, (1, 2, 3), transfer=True)
    assert list(groups[1]) == [0, 1, 2, 3]
    assert list(groups[2]) == [1, 2, 3, 4, 5]
    assert list(groups[3]) == [3, 4, 6]


def test_transfer_only_feeds_active_tasks_and_can_be_off():
    classes = _patches([(1.0, 1.0), (0.0, 0.0)])
    source = np.array([1, 1])
    assert task_groups(classes, source, (1,)) .keys() == {1}
    stage2 = task_groups(classes, source, (1, 2))
    assert list(stage2[2]) == [0] and 3 not in stage2
    off = task_groups(classes, source, (1, 2, 3), transfer=False)
    assert list(off[2]) == [] and list(off[3]) == []


@pytest.mark.parametrize("task", [1, 2, 3])
def test_task_targets(task):
    classes = np.array([0, 1, 2, 3, 4], np.uint8)
    expected = [0, 0, 0, 1, 0] if task == 3 else [0, 1, 2, 3, 4]
    assert list(task_target(classes, task)) == expected


def test_task1_tumour_share_moves_task1_centres_into_the_tumour_region():
    case = memory_case(shape=(24, 64, 64), centre=(12, 32, 32), tumour_radius=4,
                       core_radius=2)
    near = ndimage.distance_transform_edt(~np.isin(case.classes, (1, 2, 3))) <= 5
    rng = np.random.default_rng(0)
    all_in = sample_batch([case], (1,), 40, (8, 16, 16), rng, NO_AUGMENT, task1_tumour_share=1.0)
    assert all(near[c] for _, c in all_in.origins) and set(all_in.source) == {1}
    paper = sample_batch([case], (1,), 200, (8, 16, 16), rng, NO_AUGMENT)
    share = np.mean([near[c] for _, c in paper.origins])
    brain = case.classes > 0
    expected = (near & brain).sum() / brain.sum()  # uniform over the brain
    assert expected < 0.15 and share < 0.25
