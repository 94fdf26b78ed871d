"""``tools/measure_variants.py``'s command line: its defaults are the README's commands'."""

from __future__ import annotations

import pytest
from script_modules import load_script

#: The project's validation split as the README lists it ("Benchmark figures").
SEVEN = ["Brats18_2013_2_1", "Brats18_CBICA_AQN_1", "Brats18_TCIA02_135_1",
         "Brats18_TCIA13_623_1", "BraTS20_Training_001", "Brats18_CBICA_AQO_1",
         "Brats18_CBICA_ASY_1"]


@pytest.fixture()
def tool():
    return load_script("tools/measure_variants.py")


def test_without_cases_it_measures_the_seven_validation_cases(tool, tmp_path, monkeypatch):
    # README: `python tools/measure_variants.py VAL7 --variants thick_axial,mixed_resolution`
    # gives the figures of "the seven"; the default had stayed the earlier four-case split.
    measured = []

    def fake_measure_case(case, variants, options, ceiling, compare):
        measured.append((case.name, tuple(variants)))
        row = {"dice": {"whole": 0.9, "core": 0.8, "enhancing": 0.7}, "whole_ml": 10.0,
               "seconds": 1.0}
        return {"original": row}

    monkeypatch.setattr(tool, "measure_case", fake_measure_case)
    assert tool.main([str(tmp_path), "--variants", "thick_axial,mixed_resolution"]) == 0
    assert [name for name, _ in measured] == SEVEN
    assert {variants for _, variants in measured} == {("thick_axial", "mixed_resolution")}


def test_help_shows_the_whole_description(tool, capsys):
    with pytest.raises(SystemExit):
        tool.main(["--help"])
    out = capsys.readouterr().out
    # The first line of the docstring ends mid-sentence; the variants it lists follow.
    assert "resolutions, oblique, sagittal, flipped, other origin" in out
    assert "--expert-ceiling" in out and "thick_axial" in out
