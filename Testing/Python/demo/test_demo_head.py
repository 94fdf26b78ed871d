"""The synthetic skull and scalp: outside the brain, realistic contrast, brain untouched."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import SimpleITK as sitk

from omnet.cli import build_parser
from omnet.demo.anatomy import OUTSIDE
from omnet.demo.generator import DemoSettings, make_demo_case
from omnet.demo.head import HEAD_LAYERS, add_synthetic_head, head_layers
from omnet.labels import MODALITIES

SMALL = DemoSettings(size=(96, 96, 62), seed=3)  # 2.5 mm voxels: about a second to make
CODE = {name: code for code, (name, _, _) in enumerate(HEAD_LAYERS, 1)}


@pytest.fixture(scope="module")
def plain():
    return make_demo_case(SMALL)


@pytest.fixture(scope="module")
def with_head():
    return make_demo_case(replace(SMALL, skull=True))


@pytest.fixture(scope="module")
def layers(plain):
    spacing = plain.spacing[::-1]
    return head_layers(plain.tissues != OUTSIDE, spacing, np.random.default_rng(0))


def test_brain_and_labels_unchanged(plain, with_head):
    brain = plain.tissues != OUTSIDE
    assert np.array_equal(plain.labels, with_head.labels)
    for role in MODALITIES:
        assert np.array_equal(plain.images[role][brain], with_head.images[role][brain])
        assert with_head.images[role].dtype == plain.images[role].dtype


def test_head_lies_outside_the_brain(plain, with_head):
    brain = plain.tissues != OUTSIDE
    for role in MODALITIES:
        changed = plain.images[role] != with_head.images[role]
        assert changed.any() and not np.any(changed & brain)
        # air is noise, not one exact value: the case no longer looks skull-stripped
        assert np.count_nonzero(with_head.images[role][~brain] == 0) < 0.2 * (~brain).sum()


def test_deterministic():
    settings = replace(SMALL, skull=True, seed=11)
    first, second = make_demo_case(settings), make_demo_case(settings)
    for role in MODALITIES:
        assert np.array_equal(first.images[role], second.images[role])
    other = make_demo_case(replace(settings, seed=12))
    assert not np.array_equal(first.images["t1"], other.images["t1"])


def test_layers_wrap_the_brain_in_order(plain, layers):
    brain = plain.tissues != OUTSIDE
    assert not np.any(layers[brain])
    assert set(np.unique(layers)) == {0, *CODE.values()}
    # along a ray from the centre upward, the layers come in order once each
    z, y, x = (n // 2 for n in layers.shape)
    ray = layers[z:, y, x]
    codes = [int(c) for i, c in enumerate(ray) if c and (i == 0 or c != ray[i - 1])]
    assert codes == sorted(codes)


def test_layer_thickness_within_bounds(plain, layers):
    spacing = plain.spacing[::-1]
    head = layers > 0
    total_mm = sum(high for _, _, high in HEAD_LAYERS)
    from scipy import ndimage

    depth = ndimage.distance_transform_edt(plain.tissues == OUTSIDE, sampling=spacing)
    assert depth[head].max() <= total_mm + max(spacing)
    assert depth[head].min() > 0


def region_mean(case, layers, role, name) -> float:
    return float(case.images[role][layers == CODE[name]].mean())


def test_relative_intensities(plain):
    # the head of a case made by the generator uses the same seed as head_layers here
    spacing = plain.spacing[::-1]
    brain = plain.tissues != OUTSIDE
    images = add_synthetic_head(plain.images, spacing, brain=brain, seed=4, noise=0.0)
    layers = head_layers(brain, spacing, np.random.default_rng(4))
    case = replace(plain, images=images)
    for role in ("t1", "t1ce"):
        brain_median = np.median(plain.images[role][brain])
        assert region_mean(case, layers, role, "fat") > 1.4 * brain_median  # bright scalp fat
    for role in MODALITIES:
        brain_median = np.median(plain.images[role][brain])
        bone = region_mean(case, layers, role, "outer table")
        assert bone < 0.5 * brain_median  # blurred at 2.5 mm, still dark
        assert bone < region_mean(case, layers, role, "marrow")
    assert region_mean(case, layers, "t2", "csf") > 2 * np.median(plain.images["t2"][brain])


def test_brain_mask_defaults_to_nonzero_voxels(plain):
    spacing = plain.spacing[::-1]
    explicit = add_synthetic_head(plain.images, spacing, brain=plain.tissues != OUTSIDE, seed=2)
    implicit = add_synthetic_head(plain.images, spacing, seed=2)
    for role in MODALITIES:
        assert np.array_equal(explicit[role], implicit[role])


def test_cli_option(tmp_path):
    args = build_parser().parse_args(["demo", "--skull", "-o", str(tmp_path)])
    assert args.skull is True
    assert build_parser().parse_args(["demo"]).skull is False


def test_written_case_keeps_grid(with_head, tmp_path):
    from omnet.demo.generator import write_demo_case

    paths = write_demo_case(with_head, tmp_path)
    image = sitk.ReadImage(str(paths["t1"]))
    assert image.GetSize() == SMALL.size
    assert np.array_equal(sitk.GetArrayFromImage(image), with_head.images["t1"])
