"""The inference options as one record: checked before any work, recorded in the report."""

from __future__ import annotations

import json

import pytest

from omnet.errors import InputError
from omnet.inference.settings import SegmentSettings


@pytest.mark.parametrize("options, words", [
    ({"mode": "slow"}, "unknown mode 'slow'; choose fast, exact"),
    ({"skull_strip": "yes"}, "unknown skull-strip 'yes'"),
    ({"labels": "brats2021"}, "unknown labels 'brats2021'"),
    ({"tta": "y"}, "unknown tta 'y'"),
    ({"modes": "fast"}, "unknown segmentation option(s) modes"),
])
def test_a_bad_option_is_one_line_before_any_work(phantom_case, tiny_model_file, tmp_path,
                                                   options, words):
    from omnet.inference.pipeline import segment

    folder = phantom_case(shape=(16, 24, 24), name="s1")
    with pytest.raises(InputError) as error:
        segment(folder, tmp_path / "out.nii.gz", model=tiny_model_file, **options)
    assert words in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "out.nii.gz").exists()


def test_register_true_and_false_mean_on_and_off():
    assert SegmentSettings(register=True).register == "on"
    assert SegmentSettings(register=False).register == "off"


def test_keywords_override_the_record_and_the_report_keeps_what_was_asked(
        phantom_case, tiny_model_file, tmp_path):
    from omnet.inference.pipeline import segment

    folder = phantom_case(shape=(16, 24, 24), name="s2")
    settings = SegmentSettings(device="cpu", labels="brats2023", postprocess=False)
    segment(folder, tmp_path / "out.nii.gz", model=tiny_model_file, settings=settings,
            mode="exact", report=tmp_path / "report.json")
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["settings"] == {**SegmentSettings().to_dict(), "device": "cpu",
                                  "labels": "brats2023", "postprocess": False, "mode": "exact"}
    assert report["labels"]["scheme"] == "brats2023"
    assert report["postprocessing"] == {"enabled": False}
