"""``tools/enhancing_threshold.py``: the enhancing Dice of re-fused probabilities per threshold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from script_modules import load_script

from omnet.inference.outputs import PROBABILITY_NAMES
from omnet.labels import NECROTIC


@pytest.fixture(scope="module")
def tool():
    return load_script("tools/enhancing_threshold.py")


def _write(array: np.ndarray, path: Path) -> None:
    sitk.WriteImage(sitk.GetImageFromArray(array.astype(np.float32)), str(path))


def _case(root: Path, enhancing_probability: float) -> tuple[Path, Path]:
    """A 24^3 brain with a 10^3 core whose central 6^3 the experts call enhancing; the model
    is sure of the core and gives the enhancing block ``enhancing_probability``."""
    case = root / "data" / "case"
    probabilities = root / "prob" / "case"
    case.mkdir(parents=True)
    probabilities.mkdir(parents=True)
    expert = np.zeros((24, 24, 24), np.uint8)
    expert[7:17, 7:17, 7:17] = 1
    expert[9:15, 9:15, 9:15] = 4
    brain = np.full(expert.shape, 100.0)
    brain[expert == 4] = 300.0
    for role in ("flair", "t1", "t1ce", "t2"):
        _write(brain, case / f"case_{role}.nii.gz")
    sitk.WriteImage(sitk.GetImageFromArray(expert), str(case / "case_seg.nii.gz"))
    core = expert > 0
    for task in ("task1", "task2"):
        for index, name in enumerate(PROBABILITY_NAMES[task]):
            _write(core if index == NECROTIC else ~core if index == 0 else 0 * core,
                   probabilities / f"{task}_{name}.nii.gz")
    enhancing = np.where(expert == 4, enhancing_probability, 0.05)
    _write(enhancing, probabilities / "task3_enhancing.nii.gz")
    _write(1 - enhancing, probabilities / "task3_not_enhancing.nii.gz")
    return probabilities, case


def test_a_threshold_below_the_models_probability_finds_the_enhancing_block(tool, tmp_path):
    probabilities, case = _case(tmp_path, 0.45)
    scores = tool.case_dice(probabilities, case, (0.4, 0.5))
    assert scores["task 3 > 0.4"] == pytest.approx((1.0, 1.0, 1.0))
    assert scores["task 3 > 0.5"][:2] == pytest.approx((1.0, 1.0))
    assert scores["task 3 > 0.5"][2] == 0.0


def test_the_table_has_a_row_per_rule(tool, tmp_path, capsys):
    probabilities, _ = _case(tmp_path, 0.8)
    assert tool.main([str(probabilities.parent), str(tmp_path / "data"),
                      "--thresholds", "0.5", "0.9"]) == 0
    rows = {line.rsplit(None, 4)[0]: line.split()[-4:]
            for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows["task 3 > 0.5"] == ["100.0", "100.0", "100.0", "100.0"]
    assert rows["task 3 > 0.9"][2] == "0.0"


def test_a_folder_without_cases_or_a_case_without_its_data_is_one_line(tool, tmp_path, capsys):
    probabilities, case = _case(tmp_path, 0.8)
    with pytest.raises(SystemExit) as empty:
        tool.main([str(case), str(tmp_path / "data")])
    (probabilities.parent / "other").mkdir()
    with pytest.raises(SystemExit) as unmatched:
        tool.main([str(probabilities.parent), str(tmp_path / "data")])
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert empty.value.code == unmatched.value.code == 2
    assert errors[0].endswith(f"no case folders of probability maps in {case}")
    assert errors[1].endswith(f"no case folder other in {tmp_path / 'data'}")
