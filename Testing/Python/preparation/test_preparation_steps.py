"""Skull strip (through a stub extractor), N4 bias field, and the refusal of inputs that do
not hold a brain: one-line errors, nothing written."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
import SimpleITK as sitk
from head_phantom import AXES, CENTRE, grid_points, head_case, head_image

from omnet.cli.segment import preparation_line
from omnet.errors import InputError
from omnet.preparation import PrepareSettings, prepare

GRID = {"spacing": (2.0, 2.0, 2.0), "size": (90, 100, 80)}


class EllipsoidExtractor:
    """Stands in for the brain extraction model: the analytic brain, as a mask. Like HD-BET
    it extracts each of T1c and FLAIR (else each given sequence) apart, unless ``known``
    holds that one's mask; ``calls`` counts the extractions per sequence."""

    def __init__(self) -> None:
        self.calls: Counter = Counter()

    def extract(self, images, known=None):
        roles = [role for role in ("t1ce", "flair") if role in images] or list(images)
        self.calls.update(role for role in roles if role not in (known or {}))
        reference = images[roles[0]]
        points = grid_points(reference.GetSize(), reference.GetSpacing(),
                             reference.GetOrigin(), reference.GetDirection())
        inside = ((((points - CENTRE) / AXES) ** 2).sum(-1) < 1.0).astype(np.uint8)
        mask = sitk.GetImageFromArray(inside)
        mask.CopyInformation(reference)
        return mask


def _not_stripped(images):
    return False, "stub: skull found"


def test_a_head_with_skull_is_prepared_like_the_stripped_head():
    stripped = prepare(head_case(**GRID), PrepareSettings(register="off"))
    with_skull = prepare(head_case(skull=True, **GRID),
                         PrepareSettings(register="off", skull_strip="auto"),
                         extractor=EllipsoidExtractor(), detector=_not_stripped)
    step = with_skull.steps[2]
    assert step["done"] and step["reason"].startswith("skull and scalp found")
    assert with_skull.volume.shape == stripped.volume.shape
    assert np.abs(with_skull.volume - stripped.volume).max() < 1e-3


class OneArgumentExtractor(EllipsoidExtractor):
    """An extractor written to the protocol as it was, ``extract(images)``: what
    ``omnet.segment(..., extractor=)`` took before the alignment's masks were handed on."""

    def extract(self, images):
        return super().extract(images)


def test_an_extractor_without_known_masks_still_strips_a_head_whose_series_all_hold_skull():
    # every skull strip called extract(images, known={}): a TypeError where no mask is known
    prepared = prepare(head_case(skull=True, **GRID),
                       PrepareSettings(register="off", skull_strip="auto"),
                       extractor=OneArgumentExtractor(), detector=_not_stripped)
    assert prepared.steps[2]["done"] and "masks_from_alignment" not in prepared.steps[2]


def test_without_stripping_the_skull_counts_as_brain():
    raw = prepare(head_case(skull=True, **GRID), PrepareSettings(register="off",
                                                                  skull_strip="off"))
    stripped = prepare(head_case(**GRID), PrepareSettings(register="off"))
    assert raw.brain.sum() > 1.5 * stripped.brain.sum()
    assert raw.steps[2] == {"step": "skull strip", "mode": "off", "done": False,
                            "reason": "skull stripping off"}


def test_one_series_twice_is_refused_before_brain_extraction_runs():
    images = head_case(skull=True, **GRID)
    images["t2"] = images["flair"]
    extractor = EllipsoidExtractor()
    with pytest.raises(InputError, match="FLAIR and T2 are the same image"):
        prepare(images, PrepareSettings(register="on", skull_strip="on"),
                extractor=extractor, detector=_not_stripped)
    assert not extractor.calls


def test_stripped_inputs_are_not_stripped_again():
    extractor = EllipsoidExtractor()
    prepared = prepare(head_case(**GRID), PrepareSettings(register="off"),
                       extractor=extractor, detector=lambda i: (True, "stub"))
    assert not extractor.calls and not prepared.steps[2]["done"]


def _in_noisy_air(image: sitk.Image) -> sitk.Image:
    """``image`` with the noise floor a scanner writes in the air (so its skull is seen)."""
    values = sitk.GetArrayFromImage(image)
    noise = np.abs(np.random.default_rng(0).normal(0.0, 8.0, values.shape))
    out = sitk.GetImageFromArray((values + noise).astype(np.float32))
    out.CopyInformation(image)
    return out


def _mixed_skull_states() -> dict[str, sitk.Image]:
    """A skull-stripped T1c; FLAIR (on a 2.5 mm grid of its own), T1 and T2 with skull."""
    with_skull = dict(head_case(skull=True, **GRID),
                      flair=head_image("flair", size=(72, 80, 64), spacing=(2.5, 2.5, 2.5),
                                       skull=True))
    images = {role: _in_noisy_air(image) for role, image in with_skull.items()}
    images["t1ce"] = head_case(**GRID)["t1ce"]
    return images


def test_mixed_skull_states_extract_each_sequences_brain_once():
    """The alignment extracts the brain of each skull-on sequence on its own grid; the skull
    strip reuses FLAIR's, carried onto the T1c's grid, instead of extracting it again (HD-BET
    costs 25-60 s a sequence on a CPU), and takes the stripped T1c's own tissue as its mask
    instead of extracting a brain from a brain."""
    extractor = EllipsoidExtractor()
    prepared = prepare(_mixed_skull_states(), PrepareSettings(), extractor=extractor)
    assert extractor.calls == {"flair": 1, "t1": 1, "t2": 1}
    step = prepared.steps[2]
    assert step["done"] and step["masks_from_alignment"] == ["flair", "t1", "t2"]
    assert step["mask_from_own_tissue"] == "t1ce" and step["own_tissue_in_brain"] > 0.95
    stripped = prepare(head_case(**GRID), PrepareSettings(register="off"))
    assert prepared.brain.shape == stripped.brain.shape
    overlap = 2 * (prepared.brain & stripped.brain).sum() / (prepared.brain.sum()
                                                             + stripped.brain.sum())
    assert overlap > 0.99


class UnitingExtractor(EllipsoidExtractor):
    """Unites the masks ``known`` hands with the brain it finds, as HD-BET does."""

    def extract(self, images, known=None):
        mask = super().extract(images, known)
        united = sitk.GetArrayFromImage(mask) > 0
        for brain in (known or {}).values():
            united |= sitk.GetArrayViewFromImage(brain) > 0
        out = sitk.GetImageFromArray(united.astype(np.uint8))
        out.CopyInformation(mask)
        return out


def test_a_head_slab_that_looks_stripped_is_not_taken_for_its_own_brain_mask():
    """A T1c with skull and scalp in zeroed air, its slices covering part of the head, looks
    stripped (1.9 L of tissue): its own tissue, skull and scalp included, was the brain mask
    (2 L, the scalp's bright fat inside the brain) instead of HD-BET's brain."""
    from omnet.preparation.brain_extraction import looks_skull_stripped

    images = _mixed_skull_states()
    images["t1ce"] = head_image("t1ce", size=(90, 100, 50), origin=(0.0, -199.0, 25.0),
                                skull=True)
    assert looks_skull_stripped({"t1ce": images["t1ce"]})[0]
    extractor = UnitingExtractor()
    prepared = prepare(images, PrepareSettings(), extractor=extractor)
    step = prepared.steps[2]
    assert extractor.calls["t1ce"] == 1 and "mask_from_own_tissue" not in step
    assert step["own_tissue_in_brain"] < 0.7
    assert step["brain_ml"] < 1200  # the brain inside the slab, no skull or scalp


def test_a_series_elsewhere_in_space_is_refused_before_any_brain_extraction():
    """Every sequence's overlap is checked before the alignment strips any: refused in a
    second, not after an HD-BET run per skull-on sequence (minutes on a CPU)."""
    images = _mixed_skull_states()
    images["t2"] = _far(images["t2"])
    extractor = EllipsoidExtractor()
    with pytest.raises(InputError, match="T2 does not overlap the reference"):
        prepare(images, PrepareSettings(), extractor=extractor)
    assert not extractor.calls


def test_n4_removes_a_smooth_bias_field():
    case = head_case(**GRID)
    points = grid_points(GRID["size"], GRID["spacing"], (0.0, -199.0, 0.0),
                         (1, 0, 0, 0, 1, 0, 0, 0, 1))
    field = np.exp(0.25 * (points[..., 0] - CENTRE[0]) / AXES[0]).astype(np.float32)
    biased = {}
    for role, image in case.items():
        out = sitk.GetImageFromArray(sitk.GetArrayFromImage(image) * field)
        out.CopyInformation(image)
        biased[role] = out
    plain = prepare(biased, PrepareSettings(register="off"))
    corrected = prepare(biased, PrepareSettings(register="off", bias_correction=True))
    truth = prepare(case, PrepareSettings(register="off"))
    effect = corrected.steps[3]["sequences"]["t1"]
    assert effect["cv_after"] < effect["cv_before"]
    error_plain = np.abs(plain.volume - truth.volume)[:, truth.brain].mean()
    error_n4 = np.abs(corrected.volume - truth.volume)[:, truth.brain].mean()
    assert error_n4 < 0.5 * error_plain


def _write_case(folder, images):
    folder.mkdir(parents=True, exist_ok=True)
    for role, image in images.items():
        sitk.WriteImage(image, str(folder / f"case_{role}.nii.gz"))
    return folder


def _slab(image: sitk.Image, slices: int) -> sitk.Image:
    size = list(image.GetSize())
    return sitk.Extract(image, [size[0], size[1], slices], [0, 0, size[2] // 2 - slices // 2])


def _ball(image: sitk.Image) -> sitk.Image:
    """The sequence's own voxels within 20 mm of the head's centre, zero elsewhere: a 34 mL
    object with each sequence's contrast, not a brain."""
    points = grid_points(image.GetSize(), image.GetSpacing(), image.GetOrigin(),
                         image.GetDirection())
    inside = np.linalg.norm(points - CENTRE, axis=-1) < 20.0
    values = np.where(inside, sitk.GetArrayFromImage(image), 0.0).astype(np.float32)
    out = sitk.GetImageFromArray(values)
    out.CopyInformation(image)
    return out


def _noise(image: sitk.Image) -> sitk.Image:
    """The head's outline filled with noise of the tissue's brightness: a blank or broken
    series, brain-shaped, that holds no anatomy."""
    values = sitk.GetArrayFromImage(image).astype(np.float32)
    inside = values != 0
    noise = np.random.default_rng(0).normal(values[inside].mean(), values[inside].std(),
                                            int(inside.sum()))
    values[inside] = np.abs(noise) + 1.0
    out = sitk.GetImageFromArray(values)
    out.CopyInformation(image)
    return out


def _labels(image: sitk.Image) -> sitk.Image:
    """A BraTS-style label map (0, 1, 2, 4) on the sequence's grid: a segmentation file
    picked as a sequence."""
    values = sitk.GetArrayFromImage(image)
    inside = values[values != 0]
    labels = np.where(values != 0, 2, 0).astype(np.uint8)
    labels[values > np.percentile(inside, 80)] = 1
    labels[values > np.percentile(inside, 95)] = 4
    out = sitk.GetImageFromArray(labels)
    out.CopyInformation(image)
    return out


def _wrong_spacing(image: sitk.Image) -> sitk.Image:
    """The same voxels under a header that says twice the voxel size (a broken export)."""
    out = sitk.Image(image)
    out.SetSpacing(tuple(2.0 * s for s in image.GetSpacing()))
    return out


def _half_the_brain(image: sitk.Image) -> sitk.Image:
    return sitk.Extract(image, [45, 100, 80], [45, 0, 0])  # 90 mm: no slab, half a brain


def _far(image: sitk.Image) -> sitk.Image:
    out = sitk.Image(image)
    out.SetOrigin((600.0, 400.0, -300.0))
    return out


@pytest.mark.parametrize("change,role,words", [
    (lambda im: _slab(im, 3), "flair", "localizer/scout"),
    (lambda im: _slab(im, 12), "t2", "covers only 24 mm"),
    (_far, "t1", "does not overlap"),
    (_half_the_brain, "flair", "FLAIR: its slices cover only 5[0-9]% of the brain"),
    (_ball, None, "do not show a brain"),
    (lambda im: head_case(**GRID)["flair"], "t2", "FLAIR and T2 are the same image"),
    (lambda im: sitk.Cast(head_case(**GRID)["flair"], sitk.sitkFloat32) * 0.5, "t2",
     r"FLAIR and T2 are one image at two intensity scales \(correlation 1.0000\)"),
    (_noise, "t2", "T2 shows no anatomy"),
    (_labels, "t2", r"T2 looks like a label map \(its voxels take only the values 0, 1, 2, 4\)"),
    (_wrong_spacing, "t1", "T1: after alignment only"),
], ids=["localizer", "2d_slab", "no_overlap", "half_the_brain", "not_a_brain", "one_series_twice",
        "one_series_rescaled", "noise", "label_map", "wrong_voxel_size"])
def test_unusable_inputs_are_refused_in_one_line_and_nothing_is_written(tmp_path, change, role,
                                                                        words):
    import torch

    from omnet import segment
    from omnet.model import build_model

    images = head_case(**GRID)
    images = {r: (change(im) if role in (None, r) else im) for r, im in images.items()}
    folder = _write_case(tmp_path / "case", images)
    out = tmp_path / "out"
    torch.manual_seed(0)
    with pytest.raises(InputError, match=words) as caught:
        segment(folder, out / "seg.nii.gz", model=build_model("omnet-cga", width=2),
                device="cpu", report=out / "r.json", brain_mask=out / "brain.nii.gz",
                probabilities_dir=out / "p")
    assert "\n" not in str(caught.value)
    assert not out.exists()


def test_segment_reports_the_preparation_and_writes_the_brain_mask(tmp_path):
    import torch

    from omnet import segment
    from omnet.model import build_model

    folder = _write_case(tmp_path / "case", head_case(skull=True, **GRID))
    torch.manual_seed(0)
    segment(folder, tmp_path / "seg.nii.gz", model=build_model("omnet-cga", width=2),
            device="cpu", report=tmp_path / "r.json", brain_mask=tmp_path / "brain.nii.gz",
            skull_strip="on", extractor=EllipsoidExtractor())
    report = json.loads((tmp_path / "r.json").read_text())
    steps = {step["step"]: step for step in report["preparation"]["steps"]}
    assert steps["skull strip"]["done"] and steps["skull strip"]["extractor"] == \
        "EllipsoidExtractor"
    mask = sitk.ReadImage(str(tmp_path / "brain.nii.gz"))
    t1c = sitk.ReadImage(str(folder / "case_t1ce.nii.gz"))
    assert mask.GetSize() == t1c.GetSize() and mask.GetOrigin() == t1c.GetOrigin()
    truth = EllipsoidExtractor().extract({"t1ce": t1c})
    a, b = sitk.GetArrayFromImage(mask) > 0, sitk.GetArrayFromImage(truth) > 0
    assert 2 * (a & b).sum() / (a.sum() + b.sum()) > 0.98


def test_more_tissue_than_a_brain_holds_is_refused_and_says_why():
    from omnet.preparation.crop import check_brain

    head = np.ones((100, 150, 180), dtype=bool)  # 2.7 L at 1 mm
    with pytest.raises(InputError, match=r"2700 mL of tissue.*is the skull still on"):
        check_brain(head, (1.0, 1.0, 1.0))
    with pytest.raises(InputError, match="the brain extraction found no brain"):
        check_brain(head, (1.0, 1.0, 1.0), stripped=True)
    assert check_brain(head[:, :120, :140], (1.0, 1.0, 1.0))["brain_ml"] == 1680.0


def test_a_background_floor_other_than_zero_is_moved_and_changes_nothing_else():
    images = head_case(**GRID)
    floored = dict(images, t1ce=sitk.Cast(images["t1ce"], sitk.sitkFloat32) - 500.0)
    before = prepare(images, PrepareSettings(register="off"))
    after = prepare(floored, PrepareSettings(register="off"))
    assert after.steps[0]["background_moved_to_zero"] == {"t1ce": -500.0}
    assert preparation_line(after.report()).startswith("background taken as zero: t1ce (-500)")
    assert "background_moved_to_zero" not in before.steps[0]
    assert np.array_equal(after.brain, before.brain)
    assert np.abs(after.volume - before.volume).max() < 1e-3


def test_a_noisy_or_zero_background_is_left_as_it_is():
    from omnet.preparation.background import zero_background

    rng = np.random.default_rng(0)
    noisy = sitk.GetImageFromArray(rng.normal(20.0, 5.0, (20, 24, 28)).astype(np.float32))
    stripped = head_case(**GRID)["flair"]
    out, moved = zero_background({"t2": noisy, "flair": stripped})
    assert moved == {}
    assert out["t2"] is noisy and out["flair"] is stripped


def test_structure_share_tells_tissue_from_noise():
    from scipy import ndimage

    from omnet.preparation.reference import structure_share

    noise = np.random.default_rng(1).normal(size=(40, 40, 40)).astype(np.float32)
    inner = np.zeros(noise.shape, dtype=bool)
    inner[4:-4, 4:-4, 4:-4] = True
    assert abs(structure_share(noise, inner) - 1 / 27) < 0.01
    smooth = ndimage.gaussian_filter(noise, 3.0)
    assert structure_share(smooth, inner) > 0.9
    spiked = smooth.copy()
    spiked.flat[::500] = 1000.0 * smooth.max()  # hot pixels, 0.2 % of the voxels
    assert structure_share(spiked, inner) > 0.8
    assert structure_share(np.full(noise.shape, 7.0, np.float32), inner) == 0.0


def test_a_series_covering_part_of_the_brain_is_said_on_the_prepared_line():
    images = head_case(**GRID)
    images["t2"] = sitk.Extract(images["t2"], [90, 100, 40], [0, 0, 20])  # z 40-118 mm
    prepared = prepare(images, PrepareSettings(register="off"))
    assert prepared.steps[4]["brain_coverage"]["t2"] == pytest.approx(0.86, abs=0.02)
    assert "part of the brain only: t2 covers 8" in preparation_line(prepared.report())
    assert "part of the brain" not in preparation_line(prepare(head_case(**GRID)).report())


def test_a_series_that_holds_the_whole_brain_but_less_air_is_not_called_partial():
    images = head_case(**GRID)
    images["t2"] = sitk.Extract(images["t2"], [90, 84, 64], [0, 8, 8])  # 67 % of the grid
    prepared = prepare(images, PrepareSettings(register="off"))
    assert prepared.steps[1]["sequences"]["t2"]["coverage"] == pytest.approx(0.67, abs=0.01)
    assert prepared.steps[4]["brain_coverage"]["t2"] == 1.0
    assert "part of" not in preparation_line(prepared.report())
