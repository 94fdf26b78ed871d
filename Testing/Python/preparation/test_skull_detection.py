"""Is a case skull-stripped? Real BraTS cases (stripped), generated heads and edge cases."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from omnet.demo.generator import DemoSettings, make_demo_case
from omnet.demo.head import add_synthetic_head
from omnet.errors import InputError
from omnet.labels import MODALITIES
from omnet.preparation.brain_extraction import looks_skull_stripped

SMALL = DemoSettings(size=(96, 96, 62), seed=5)


def read_case(folder: Path) -> dict[str, sitk.Image]:
    return {role: sitk.ReadImage(str(folder / f"{folder.name}_{role}.nii.gz"))
            for role in MODALITIES}


def as_images(arrays, like: dict[str, sitk.Image]) -> dict[str, sitk.Image]:
    out = {}
    for role, array in arrays.items():
        out[role] = sitk.GetImageFromArray(array)
        out[role].CopyInformation(like[role])
    return out


def case_images(case) -> dict[str, sitk.Image]:
    return {role: case.to_image(array) for role, array in case.images.items()}


def test_every_real_brats_case_is_stripped(brats_dir):
    cases = sorted(p for p in brats_dir.iterdir() if p.is_dir())
    assert len(cases) >= 10
    for folder in cases:
        stripped, reason = looks_skull_stripped(read_case(folder))
        assert stripped, f"{folder.name}: {reason}"
        assert "L of non-background voxels" in reason


def test_brats_case_with_synthetic_head_is_not_stripped(brats_case):
    images = read_case(brats_case)
    arrays = {role: sitk.GetArrayFromImage(image) for role, image in images.items()}
    with_head = as_images(add_synthetic_head(arrays, (1.0, 1.0, 1.0), seed=0), images)
    stripped, reason = looks_skull_stripped(with_head)
    assert not stripped
    assert "background is not one exact value" in reason


def test_head_in_zeroed_air_is_too_large_for_a_brain(brats_case):
    images = read_case(brats_case)
    arrays = {role: sitk.GetArrayFromImage(image) for role, image in images.items()}
    heads = add_synthetic_head(arrays, (1.0, 1.0, 1.0), seed=0, noise=0.0)
    for array in heads.values():
        array[array < 5] = 0  # air masked to exactly 0, as some converters do
    stripped, reason = looks_skull_stripped(as_images(heads, images))
    assert not stripped
    assert "more than a brain" in reason


def test_demo_case_stripped_without_skull_and_not_with_it():
    assert looks_skull_stripped(case_images(make_demo_case(SMALL)))[0]
    stripped, reason = looks_skull_stripped(case_images(make_demo_case(replace(SMALL,
                                                                               skull=True))))
    assert not stripped and reason.startswith("flair: ")


def test_one_unstripped_sequence_decides(brats_case):
    images = read_case(brats_case)
    t2 = sitk.GetArrayFromImage(images["t2"])
    noisy = t2 + np.random.default_rng(0).integers(1, 5, t2.shape).astype(t2.dtype)
    images["t2"] = as_images({"t2": noisy}, images)["t2"]
    stripped, reason = looks_skull_stripped(images)
    assert not stripped and reason.startswith("t2: ")


def test_brain_cropped_to_its_box_is_still_stripped(brats_case):
    image = sitk.ReadImage(str(brats_case / f"{brats_case.name}_t1.nii.gz"))
    array = sitk.GetArrayFromImage(image)
    box = tuple(slice(i.min(), i.max() + 1) for i in np.nonzero(array))
    cropped = sitk.GetImageFromArray(array[box])
    assert looks_skull_stripped({"t1": cropped})[0]


def test_small_region_is_not_trusted():
    array = np.zeros((100, 100, 100), np.int16)
    array[40:60, 40:60, 40:60] = 100  # 8 mL: a slab or a lesion mask, not a brain
    stripped, reason = looks_skull_stripped({"t1": sitk.GetImageFromArray(array)})
    assert not stripped and "less than a whole brain" in reason


def test_constant_background_other_than_zero():
    array = np.full((150, 150, 150), -1.0, np.float32)
    array[20:130, 20:130, 20:130] = 2.0  # 1.33 L inside a background of -1 (z-scored data)
    stripped, reason = looks_skull_stripped({"flair": sitk.GetImageFromArray(array)})
    assert stripped and "background of -1" in reason


def test_no_images_is_an_error():
    with pytest.raises(InputError):
        looks_skull_stripped({})
