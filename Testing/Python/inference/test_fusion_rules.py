"""The paper's fusion of the three tasks, on hand-made probability maps."""

from __future__ import annotations

import numpy as np
import pytest

from omnet.inference.fusion import dilate_ball, fuse_tasks
from omnet.labels import BRATS2018, BRATS2023, classes_to_labels

SHAPE = (1, 1, 30)  # a line of voxels keeps distances obvious


def _probabilities(classes_per_voxel: np.ndarray, num_classes: int) -> np.ndarray:
    """One-hot-ish maps: 0.8 on the given class, the rest shared."""
    p = np.full((num_classes, *classes_per_voxel.shape), 0.2 / (num_classes - 1), np.float32)
    for c in range(num_classes):
        p[c][classes_per_voxel == c] = 0.8
    return p


def test_coarse_tumour_is_dilated_by_five_voxels_and_gates_task_two():
    task1 = np.zeros(SHAPE, dtype=int)
    task1[0, 0, 10:12] = 2  # coarse tumour at x = 10, 11
    task2 = np.full(SHAPE, 2)  # task 2 calls edema everywhere
    task3 = np.zeros(SHAPE, dtype=int)
    classes = fuse_tasks(_probabilities(task1, 5), _probabilities(task2, 5),
                         _probabilities(task3, 2))
    expected = np.zeros(SHAPE, dtype=np.uint8)
    expected[0, 0, 5:17] = 2  # 10 - 5 .. 11 + 5
    np.testing.assert_array_equal(classes, expected)


def test_summed_tumour_probability_not_argmax_decides_the_coarse_tumour():
    p1 = np.zeros((5, *SHAPE), dtype=np.float32)
    p1[4] = 0.4   # normal brain is the single most likely class ...
    p1[1] = 0.2   # ... but the three tumour classes sum to 0.6 > 0.5
    p1[2] = 0.2
    p1[3] = 0.2
    task2 = np.full(SHAPE, 1)
    classes = fuse_tasks(p1, _probabilities(task2, 5), _probabilities(np.zeros(SHAPE, int), 2))
    assert (classes == 1).all()
    p1[1:4] = 0.16  # 0.48: no tumour
    p1[4] = 0.52
    classes = fuse_tasks(p1, _probabilities(task2, 5), _probabilities(np.zeros(SHAPE, int), 2))
    assert not classes.any()


def test_task_three_splits_the_core_and_edema_is_tumour_outside_the_core():
    task1 = np.full(SHAPE, 2)
    task2 = np.array([[[0, 4, 2, 2, 1, 1, 3, 3] + [0] * 22]])
    task3 = np.array([[[1, 1, 1, 0, 1, 0, 1, 0] + [1] * 22]])
    classes = fuse_tasks(_probabilities(task1, 5), _probabilities(task2, 5),
                         _probabilities(task3, 2))
    # background/normal stay 0 whatever task 3 says; edema stays edema; core voxels follow
    # task 3: enhancing -> 3, not enhancing -> 1 (NCR/NET)
    np.testing.assert_array_equal(classes[0, 0, :8], [0, 0, 2, 2, 3, 1, 3, 1])
    assert not classes[0, 0, 8:].any()


@pytest.mark.parametrize("scheme, expected", [(BRATS2018, [0, 1, 2, 4]),
                                              (BRATS2023, [0, 1, 2, 3])])
def test_label_schemes(scheme, expected):
    np.testing.assert_array_equal(classes_to_labels(np.array([0, 1, 2, 3]), scheme), expected)


def test_dilation_is_a_euclidean_ball():
    mask = np.zeros((15, 15, 15), dtype=bool)
    mask[7, 7, 7] = True
    ball = dilate_ball(mask, 5)
    zz, yy, xx = np.indices(mask.shape)
    np.testing.assert_array_equal(ball, (zz - 7) ** 2 + (yy - 7) ** 2 + (xx - 7) ** 2 <= 25)
    assert not dilate_ball(np.zeros((4, 4, 4), dtype=bool), 5).any()
