"""Names that pre-processing tools write (BrainLesion, BraTS-Toolkit, FSL BET, SynthStrip)."""

from __future__ import annotations

import pytest

from omnet.data.discovery import find_case_files
from omnet.data.naming import classify_name

TOOL_NAMES = {
    # BrainLesion preprocessing / BraTS-Toolkit output folder
    "P1_fla_bet.nii.gz": "flair", "P1_t1_bet.nii.gz": "t1", "P1_t1c_bet.nii.gz": "t1ce",
    "P1_t2_bet.nii.gz": "t2", "hdbet_brats_fla.nii.gz": "flair", "exam1_t1c.nii.gz": "t1ce",
    # other spellings of the contrast-enhanced T1 and of the BraTS 2023 names
    "sub-01_t1gd.nii.gz": "t1ce", "sub-01_t1_gd.nii.gz": "t1ce", "case_T1GD_reg.nrrd": "t1ce",
    "x-t2f_n4.nii.gz": "flair", "x-t1n_brain.nii.gz": "t1", "x_t2w_skullstripped.nii": "t2",
    # pipeline suffixes say nothing about the sequence
    "flair_reg.nii.gz": "flair", "t1_n4.nii.gz": "t1", "T2_brain.nii.gz": "t2",
    "t1ce_skullstripped_reg_n4.nii.gz": "t1ce", "FLAIR_bet.nii.gz": "flair",
    # brain masks written beside the sequences: neither a sequence nor a label map
    "P1_t1c_bet_mask.nii.gz": None, "t1_brain_mask.nii.gz": None, "brainmask.nii.gz": None,
    "hdbet_brats_t1c_mask.nii.gz": None, "T1_skullstripped_mask.nii.gz": None,
    # a tumour mask is still a label map
    "P1_tumor_mask.nii.gz": "seg", "P1_seg.nii.gz": "seg",
}


@pytest.mark.parametrize("name,role", list(TOOL_NAMES.items()))
def test_tool_output_names(name: str, role: str | None) -> None:
    assert classify_name(name) == role


def test_a_brainlesion_output_folder_is_a_case(tmp_path) -> None:
    """The folder the BrainLesion pipeline writes (with its brain mask) is read as a case."""
    folder = tmp_path / "P1"
    folder.mkdir()
    for name in ("P1_fla_bet.nii.gz", "P1_t1_bet.nii.gz", "P1_t1c_bet.nii.gz",
                 "P1_t2_bet.nii.gz", "P1_t1c_bet_mask.nii.gz"):
        (folder / name).write_bytes(b"")
    case = find_case_files(folder)
    assert case.flair.name == "P1_fla_bet.nii.gz" and case.t1ce.name == "P1_t1c_bet.nii.gz"
    assert case.t1.name == "P1_t1_bet.nii.gz" and case.t2.name == "P1_t2_bet.nii.gz"
    assert case.seg is None and case.four_d is None
