"""The files a user opens in another viewer: complete, named as asked, described."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from omnet import segment
from omnet.data.detached import data_file_written
from omnet.errors import InputError
from omnet.inference.outputs import check_destinations, check_not_inputs, write_image


def _labels() -> sitk.Image:
    image = sitk.GetImageFromArray(np.arange(60, dtype=np.uint8).reshape(3, 4, 5))
    image.SetSpacing((0.9, 1.1, 2.0))
    image.SetOrigin((12.0, -30.0, 47.0))
    return image


@pytest.mark.parametrize("name, data", [("labels.mhd", "labels.zraw"),
                                        ("labels.nhdr", "labels.raw.gz")])
def test_a_header_and_data_file_pair_is_written_under_the_names_asked(tmp_path, name, data):
    # the header was written under a hidden temporary name, so it named a hidden
    # '.labels.partial-*' data file that stayed behind, one more on every run
    for _ in range(2):
        write_image(_labels(), tmp_path / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, data])
    assert data in (tmp_path / name).read_text(errors="replace")
    assert data_file_written(tmp_path / name) == tmp_path / data  # what the checks cover
    back = sitk.ReadImage(str(tmp_path / name))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(back),
                                  sitk.GetArrayFromImage(_labels()))
    assert back.GetOrigin() == pytest.approx((12.0, -30.0, 47.0))


def test_every_side_output_says_in_its_header_what_it_holds(phantom_case, tiny_model,
                                                            tmp_path):
    # the NIfTI description was empty: a file opened alone in FSLeyes or ITK-SNAP, or read
    # with nibabel, did not say which label is which or what a map's values mean
    segment(phantom_case(shape=(24, 40, 36)), tmp_path / "labels.nii.gz", model=tiny_model,
            device="cpu", labels="brats2023", brain_mask=tmp_path / "mask.nii.gz",
            uncertainty=tmp_path / "uncertainty.nii.gz", probabilities_dir=tmp_path / "p",
            tta="x")
    described = {
        "labels.nii.gz": "OMNet tumour labels (brats2023): 1 necrotic, 2 edema, 3 enhancing",
        "mask.nii.gz": "OMNet brain mask: 1 brain, 0 outside",
        # measured against the runs' average before post-processing, not the label map
        # written: "the final class" said the opposite of the README
        "uncertainty.nii.gz": "OMNet uncertainty: share of mirrored runs off their average's "
                              "class, 0-1",
        "p/task1_edema.nii.gz": "OMNet probability: task1_edema",
        "p/task3_enhancing.nii.gz": "OMNet probability: task3_enhancing"}
    for name, text in described.items():
        assert sitk.ReadImage(str(tmp_path / name)).GetMetaData("descrip") == text


def test_attention_maps_are_described_by_name(phantom_case, tiny_model, tmp_path):
    segment(phantom_case(shape=(24, 40, 36)), None, model=tiny_model, device="cpu",
            attention_dir=tmp_path / "a")
    image = sitk.ReadImage(str(tmp_path / "a" / "cga_core_pt.nii.gz"))
    assert image.GetMetaData("descrip") == "OMNet attention map: cga_core_pt"


def test_a_map_whose_header_text_is_not_listed_is_not_written(tmp_path):
    # a batch knows omnet segment's own files by OMNET_DESCRIPTIONS only: a map written with
    # a text not listed there would be taken for a case by the next batch
    from omnet.inference.outputs import write_images

    images = {"task1_edema": _labels(), "task4_new": _labels()}
    with pytest.raises(ValueError, match=r"^'OMNet probability: task4_new' is not among "
                                         r"OMNET_DESCRIPTIONS$"):
        write_images(images, tmp_path / "p", "probability")
    assert not (tmp_path / "p").exists()


def test_the_report_lists_every_kind_of_file_and_the_readme_every_field(phantom_case,
                                                                        tiny_model, tmp_path):
    # "uncertainty" was missing from "files" unless asked, where the other kinds are [];
    # the README named 6 of the report's 24 fields
    report = segment(phantom_case(shape=(24, 40, 36)), tmp_path / "l.nii.gz", model=tiny_model,
                     device="cpu", report=tmp_path / "r.json").report
    assert set(report["files"]) == {"probabilities", "attention", "brain_mask", "uncertainty"}
    assert report["files"]["uncertainty"] == []
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    written = json.loads((tmp_path / "r.json").read_text())
    assert [key for key in written if f"`{key}`" not in readme] == []
    # and the model's own fields: it said "file" where the report writes "path"
    model_fields = readme.split("`model` (", 1)[1].split("), `device`", 1)[0]
    assert [key for key in written["model"] if key not in model_fields] == []


def test_writing_with_a_description_leaves_the_callers_image_as_it_was(tmp_path):
    # the description was set on the caller's image: the next file written from it without
    # one (or a result image kept by the caller) carried the brain mask's description
    image = _labels()
    write_image(image, tmp_path / "mask.nii.gz", "OMNet brain mask: 1 brain, 0 outside")
    write_image(image, tmp_path / "plain.nii.gz")
    assert not image.HasMetaDataKey("ITK_FileNotes")
    assert sitk.ReadImage(str(tmp_path / "plain.nii.gz")).GetMetaData("descrip") == ""
    assert sitk.ReadImage(str(tmp_path / "mask.nii.gz")).GetMetaData("descrip") == \
        "OMNet brain mask: 1 brain, 0 outside"


def test_a_description_replaces_the_callers_own_only_in_the_file(tmp_path):
    image = _labels()
    image.SetMetaData("ITK_FileNotes", "the caller's note")
    write_image(image, tmp_path / "labels.mhd", "OMNet brain mask: 1 brain, 0 outside")
    assert image.GetMetaData("ITK_FileNotes") == "the caller's note"


@pytest.mark.parametrize("name", ["labels.mhd", "labels.nhdr"])
def test_a_header_write_stopped_between_data_and_header_leaves_no_earlier_header(
        tmp_path, name, monkeypatch):
    # the new data file replaced the old one under the old header, which was then read
    # without a word as an image of the old size holding the new voxels
    write_image(_labels(), tmp_path / name)
    replace = os.replace

    def stopped_at_the_header(source, destination):
        if Path(destination).name == name:
            raise KeyboardInterrupt
        replace(source, destination)

    monkeypatch.setattr(os, "replace", stopped_at_the_header)
    bigger = sitk.GetImageFromArray(np.ones((6, 7, 8), dtype=np.uint8))
    with pytest.raises(KeyboardInterrupt):
        write_image(bigger, tmp_path / name)
    monkeypatch.undo()
    assert not (tmp_path / name).exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("name", ["t1.mhd", "t1.nhdr"])
def test_an_output_whose_data_file_is_an_inputs_data_file_is_refused(tmp_path, name):
    # -o voxels.mhd writes voxels.zraw (voxels.raw.gz): the data file the T1's header names
    # was replaced by the label map's voxels, only the headers were compared
    suffix = name[name.index("."):]
    write_image(_labels(), tmp_path / f"voxels{suffix}")
    (tmp_path / f"voxels{suffix}").rename(tmp_path / name)
    with pytest.raises(InputError, match=rf"^the label map .*voxels{suffix} would write its "
                                         r"data file voxels\.(zraw|raw\.gz) over one of the "
                                         r"case's own files: give another name$"):
        check_not_inputs({"the label map": tmp_path / f"voxels{suffix}"}, [tmp_path / name])


@pytest.mark.parametrize("first, second", [("X.nii.gz", "x.nii.gz"),
                                           ("labels.mhd", "labels.MHD")])
def test_two_outputs_differing_only_in_letter_case_are_refused(tmp_path, first, second):
    # -o X.nii.gz --brain-mask x.nii.gz: one file on macOS and Windows, so the brain mask
    # replaced the label map (-o labels.mhd --brain-mask labels.MHD shared labels.zraw too);
    # compared as file_key does, whatever the file system under the test
    with pytest.raises(InputError, match=rf"^the label map and the brain mask are both "
                                         rf".*{re.escape(second)}: give each its own path$"):
        check_destinations(images={"the label map": tmp_path / first,
                                   "the brain mask": tmp_path / second})


def test_a_report_differing_from_the_label_map_only_in_letter_case_is_refused(tmp_path):
    with pytest.raises(InputError, match=r"^the label map and the report are both "):
        check_destinations(images={"the label map": tmp_path / "Result.nii.gz"},
                           files={"the report": tmp_path / "result.NII.GZ"})
