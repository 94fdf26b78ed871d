"""``tools/outline_agreement.py``: the same-patient threshold holds on real cases."""

from __future__ import annotations

import pytest
from script_modules import load_script

from omnet.preparation.same_patient import SAME_PATIENT_OUTLINE_DICE

CASES = ("Brats18_2013_2_1", "Brats18_TCIA02_135_1", "Brats18_CBICA_AQN_1")


@pytest.fixture(scope="module")
def tool():
    return load_script("tools/outline_agreement.py")


def test_own_series_agree_and_other_patients_do_not(tool, brats_dir, tmp_path):
    for name in CASES:
        (tmp_path / name).symlink_to(brats_dir / name)
    own, other = tool.agreement_table(tmp_path)
    assert set(own) == set(other) == set(CASES)
    assert min(own.values()) > SAME_PATIENT_OUTLINE_DICE
    assert max(other.values()) < SAME_PATIENT_OUTLINE_DICE


def test_a_missing_folder_is_one_usage_error(tool, tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        tool.main([str(tmp_path / "nowhere")])
    assert stopped.value.code == 2
    assert "nowhere is not a folder" in capsys.readouterr().err


def test_a_folder_without_usable_cases_is_one_usage_error(tool, tmp_path, capsys):
    # an empty folder was a "min() arg is an empty sequence" traceback, a folder of folders
    # an InputError traceback
    (tmp_path / "empty").mkdir()
    (tmp_path / "nested" / "a" / "b").mkdir(parents=True)
    for folder, reason in (("empty", "holds no case folder"), ("nested", "a: ")):
        with pytest.raises(SystemExit) as stopped:
            tool.main([str(tmp_path / folder)])
        assert stopped.value.code == 2
        assert reason in capsys.readouterr().err.splitlines()[-1]
