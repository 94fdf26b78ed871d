"""``omnet measure --labels auto``: the scheme named in the header ``omnet segment`` writes,
else the one the values suggest; the output says which."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import SimpleITK as sitk

from omnet.cli import main
from omnet.evaluation.files import read_label_map
from omnet.inference.outputs import label_description, write_image
from omnet.labels import BRATS2023, described_scheme


def _label_map(path, values, description=None):
    array = np.zeros((8, 10, 12), dtype=np.uint8)
    for index, value in enumerate(values):
        array[2:4, 2 + 3 * index:4 + 3 * index, 2:6] = value
    write_image(sitk.GetImageFromArray(array), path, description)
    return path


@pytest.mark.parametrize("suffix", [".nii.gz", ".nrrd", ".mha"])
def test_a_2023_map_without_enhancing_tumour_is_read_by_its_header(tmp_path, capsys, suffix):
    """Values 0/1/2 fit both schemes: by them alone it was reported as brats2018."""
    path = _label_map(tmp_path / f"labels{suffix}", (1, 2), label_description(BRATS2023))
    assert main(["measure", str(path), "--json", str(tmp_path / "m.json")]) == 0
    assert capsys.readouterr().out.splitlines()[0] == \
        "labels: brats2023 (named in the file's header)"
    written = json.loads((tmp_path / "m.json").read_text())
    assert (written["labels"], written["labels_from"]) == ("brats2023", "header")


@pytest.mark.parametrize("values, description, line", [
    ((1, 2), None, "labels: brats2018 (guessed from the label values)"),
    ((1, 2, 3), "another tool's notes", "labels: brats2023 (guessed from the label values)"),
    # a file edited since: its values decide, not the header it kept
    ((1, 2, 4), label_description(BRATS2023), "labels: brats2018 (guessed from the label "
                                              "values)"),
])
def test_without_a_header_that_fits_the_values_decide(tmp_path, capsys, values, description,
                                                      line):
    path = _label_map(tmp_path / "labels.nii.gz", values, description)
    assert main(["measure", str(path)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == line


def test_a_given_scheme_is_said_to_be_given(tmp_path, capsys):
    path = _label_map(tmp_path / "labels.nii.gz", (1, 2), label_description(BRATS2023))
    assert main(["measure", str(path), "--labels", "brats2018"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "labels: brats2018 (given)"


@pytest.mark.parametrize("text", [None, "", "OMNet brain mask: 1 brain, 0 outside",
                                  "OMNet tumour labels (brats1999): 1 necrotic"])
def test_only_an_omnet_label_description_names_a_scheme(text):
    assert described_scheme(text) is None


@pytest.mark.parametrize("given, warned", [("msd", True), ("brats2018", True),
                                           ("brats2023", False)])
def test_a_given_scheme_the_header_contradicts_is_warned_of(tmp_path, caplog, given, warned):
    # --labels msd on a map omnet segment wrote won without a word: its necrosis (1) was
    # measured as edema and its edema (2) as necrosis
    path = _label_map(tmp_path / "labels.nii.gz", (1, 2), label_description(BRATS2023))
    with caplog.at_level(logging.WARNING, logger="omnet.evaluation.files"):
        assert read_label_map(path, given).scheme.name == given
    expected = [f"label map labels.nii.gz: read as labels {given}, as asked, though its "
                "header names labels brats2023"] if warned else []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == expected
