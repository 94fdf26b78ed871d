"""Area-weighted corner surfaces (the BraTS 2023 HD95): areas and distances worked out by hand."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest

from omnet.evaluation.surfels import robust_hausdorff, surfel_areas, surfel_distances


def box(shape, *slices):
    mask = np.zeros(shape, dtype=bool)
    mask[slices] = True
    return mask


def test_area_table_is_complete_and_complement_symmetric():
    areas = surfel_areas((1.0, 1.0, 1.0))
    assert areas[0] == 0 and areas[255] == 0
    assert np.all(areas[1:255] > 0)
    assert np.allclose(areas, areas[::-1])             # code c and its complement 255 - c
    assert areas[1] == pytest.approx(math.sqrt(3) / 8)  # one corner: triangle of side √2/2


def test_lone_voxel_is_an_octahedron():
    """Eight corner triangles of side √2/2: area 8 · (√3/4) · (1/2) = √3, distances 0."""
    voxel = box((5, 5, 5), slice(2, 3), slice(2, 3), slice(2, 3))
    d = surfel_distances(voxel, voxel, (1.0, 1.0, 1.0))
    assert d.area_a.size == 8 and d.area_a.sum() == pytest.approx(math.sqrt(3))
    assert np.all(d.a_to_b == 0) and robust_hausdorff(d) == 0.0


@pytest.mark.parametrize(("spacing", "area"), [
    # 24 face points of area 1, 24 edge points of √2/2, 8 corner points of √3/8.
    ((1.0, 1.0, 1.0), 24 + 12 * math.sqrt(2) + math.sqrt(3)),
    # faces: 8·(1·1) + 8·(2·1) + 8·(2·1); edges along axis 0: 8 · ½|(2, 2)|, along
    # axes 1 and 2: 8 · ½|(1, 2)| each; corners: 8 · ⅛|(1, 2, 2)|.
    ((2.0, 1.0, 1.0), 40 + 8 * math.sqrt(2) + 8 * math.sqrt(5) + 3),
])
def test_surface_area_of_a_box(spacing, area):
    cube = box((7, 7, 7), slice(2, 5), slice(2, 5), slice(2, 5))
    d = surfel_distances(cube, cube, spacing)
    assert d.area_a.size == 6 * 4 + 12 * 2 + 8
    assert d.area_a.sum() == pytest.approx(area)


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (2.0, 0.7, 1.3)])
def test_hd95_of_a_cube_shifted_one_voxel(spacing):
    """No surface point is farther than one step along axis 0 (spacing[0]) from the other
    surface, and the face left behind (a whole face, about 1/6 of the area) is exactly that
    far: the 95th percentile is one step."""
    a = box((16, 16, 16), slice(3, 13), slice(3, 13), slice(3, 13))
    b = np.roll(a, 1, axis=0)
    d = surfel_distances(a, b, spacing)
    both = np.concatenate([d.a_to_b, d.b_to_a])
    assert both.max() == pytest.approx(spacing[0])
    assert np.sum(np.isclose(d.a_to_b, spacing[0])) >= 11 * 11     # the face left behind
    assert robust_hausdorff(d) == pytest.approx(spacing[0])
    if spacing == (1.0, 1.0, 1.0):
        assert set(both) == {0.0, 1.0}


def test_a_speck_under_five_percent_of_the_area_does_not_move_hd95():
    cube = box((30, 30, 30), slice(3, 13), slice(3, 13), slice(3, 13))
    speck = box((30, 30, 30), slice(25, 26), slice(25, 26), slice(25, 26))
    d = surfel_distances(cube, cube | speck, (1.0, 1.0, 1.0))
    assert robust_hausdorff(d) == 0.0           # √3 of about 600 mm² is far from 5%
    assert robust_hausdorff(d, 100.0) > 15.0    # the maximum sees it


def test_empty_masks():
    empty = np.zeros((6, 6, 6), dtype=bool)
    dot = box((6, 6, 6), slice(2, 3), slice(2, 3), slice(2, 3))
    assert robust_hausdorff(surfel_distances(empty, empty, (1, 1, 1))) == math.inf
    d = surfel_distances(empty, dot, (1, 1, 1))
    assert d.a_to_b.size == 0 and np.all(np.isinf(d.b_to_a))
    assert robust_hausdorff(d) == math.inf
    with pytest.raises(ValueError, match="3D masks"):
        surfel_distances(empty[0], empty[0], (1, 1))


@pytest.mark.skipif(importlib.util.find_spec("skimage") is None,
                    reason="the independent area check needs scikit-image")
def test_areas_equal_classic_marching_cubes_with_the_minority_corners_inside():
    """Each code's area, at an anisotropic spacing, against scikit-image's Lorensen surface."""
    from skimage.measure import marching_cubes

    spacing = (1.7, 0.6, 1.1)
    areas = surfel_areas(spacing)
    for code in range(1, 255):
        corners = np.array([(code >> (4 * a + 2 * b + c)) & 1 for a in (0, 1) for b in (0, 1)
                            for c in (0, 1)], dtype=float).reshape(2, 2, 2)
        if corners.sum() > 4:
            corners = 1 - corners
        verts, faces, _, _ = marching_cubes(corners, 0.5, spacing=spacing, method="lorensen",
                                            allow_degenerate=True)
        t = verts[faces]
        expected = 0.5 * np.linalg.norm(np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]),
                                        axis=1).sum()
        assert areas[code] == pytest.approx(expected), code
