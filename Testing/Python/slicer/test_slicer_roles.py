"""Volume roles from names as people load them, and the names given to results."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from OMNetSegmentationLib.names import (
    attention_title,
    case_stem,
    result_part_name,
    run_suffix,
    segmentation_name,
)
from OMNetSegmentationLib.roles import (
    Volume,
    assign_roles,
    channel_roles,
    file_channels,
    patient_problem,
    selection_problem,
    series_problem,
    transform_problem,
)


def volumes(*names: str) -> list[Volume]:
    return [Volume(f"vtkMRMLScalarVolumeNode{i}", name) for i, name in enumerate(names, 1)]


def by_name(assignment, vols) -> dict[str, str | None]:
    names = {v.key: v.name for v in vols}
    return {role: names.get(key) for role, key in assignment.roles.items()}


CASES = {
    "brats2018": (["Brats18_2013_2_1_flair", "Brats18_2013_2_1_t1", "Brats18_2013_2_1_t1ce",
                   "Brats18_2013_2_1_t2", "Brats18_2013_2_1_seg"],
                  {"flair": "Brats18_2013_2_1_flair", "t1": "Brats18_2013_2_1_t1",
                   "t1ce": "Brats18_2013_2_1_t1ce", "t2": "Brats18_2013_2_1_t2"}),
    "brats2021": (["BraTS2021_00495_t2", "BraTS2021_00495_t1ce", "BraTS2021_00495_flair",
                   "BraTS2021_00495_t1"],
                  {"flair": "BraTS2021_00495_flair", "t1": "BraTS2021_00495_t1",
                   "t1ce": "BraTS2021_00495_t1ce", "t2": "BraTS2021_00495_t2"}),
    "brats2023": (["BraTS-GLI-00005-000-t1c", "BraTS-GLI-00005-000-t1n",
                   "BraTS-GLI-00005-000-t2f", "BraTS-GLI-00005-000-t2w",
                   "BraTS-GLI-00005-000-seg"],
                  {"flair": "BraTS-GLI-00005-000-t2f", "t1": "BraTS-GLI-00005-000-t1n",
                   "t1ce": "BraTS-GLI-00005-000-t1c", "t2": "BraTS-GLI-00005-000-t2w"}),
    "msd_modalities": (["FLAIR", "T1w", "t1gd", "T2w"],
                       {"flair": "FLAIR", "t1": "T1w", "t1ce": "t1gd", "t2": "T2w"}),
    "msd_channels": (["BRATS_001_0003", "BRATS_001_0001", "BRATS_001_0000", "BRATS_001_0002"],
                     {"flair": "BRATS_001_0000", "t1": "BRATS_001_0001",
                      "t1ce": "BRATS_001_0002", "t2": "BRATS_001_0003"}),
    "clinical": (["AX T2 FSE", "AX T1 PRE", "AX T1 POST GAD", "AX T2 FLAIR", "ADC"],
                 {"flair": "AX T2 FLAIR", "t1": "AX T1 PRE", "t1ce": "AX T1 POST GAD",
                  "t2": "AX T2 FSE"}),
    "dicom_series": (["3: AX T1 POST GAD", "4: AX T2 FLAIR", "5: AX T1 SE", "6: Ax T2 TSE",
                      "7: ep2d_diff_3scan_trace"],
                     {"flair": "4: AX T2 FLAIR", "t1": "5: AX T1 SE",
                      "t1ce": "3: AX T1 POST GAD", "t2": "6: Ax T2 TSE"}),
    "siemens": (["t1_mprage_sag_p2_iso", "t1_mprage_tra_KM", "t2_tse_tra",
                 "t2_tirm_tra_dark-fluid"],
                {"flair": "t2_tirm_tra_dark-fluid", "t1": "t1_mprage_sag_p2_iso",
                 "t1ce": "t1_mprage_tra_KM", "t2": "t2_tse_tra"}),
    # a DCE protocol: the subtraction, the MIP and the dynamic runs are none of the four
    "siemens_dce": (["t1_vibe_fs_tra_pre", "t1_vibe_fs_tra_post", "t1_vibe_fs_tra_post_SUB",
                     "T1 MPR POST MIP", "t1_vibe_dyn", "t1_twist", "t2_tse_tra",
                     "t2_tirm_tra_dark-fluid"],
                    {"flair": "t2_tirm_tra_dark-fluid", "t1": "t1_vibe_fs_tra_pre",
                     "t1ce": "t1_vibe_fs_tra_post", "t2": "t2_tse_tra"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_realistic_name_lists_get_the_right_roles(case):
    names, expected = CASES[case]
    vols = volumes(*names)
    assignment = assign_roles(vols, new_keys={v.key for v in vols})
    assert by_name(assignment, vols) == expected
    assert assignment.missing() == []


def test_label_maps_and_unknown_series_get_no_role():
    vols = volumes("Brats18_x_seg", "ADC", "SWI", "Brats18_x_flair")
    assignment = assign_roles(vols, new_keys={v.key for v in vols})
    assert by_name(assignment, vols) == {"flair": "Brats18_x_flair", "t1": None,
                                         "t1ce": None, "t2": None}
    assert assignment.missing() == ["t1", "t1ce", "t2"]


def test_never_two_roles_on_one_volume_even_if_the_user_chose_so():
    vols = volumes("case_flair", "case_t1", "case_t1ce", "case_t2")
    flair, t1, t1ce, t2 = (v.key for v in vols)
    # the user put the FLAIR volume into two roles; the automatic fill must not keep both
    assignment = assign_roles(vols, current={"flair": flair, "t1": flair, "t1ce": None,
                                             "t2": None})
    keys = [key for key in assignment.roles.values() if key is not None]
    assert len(keys) == len(set(keys)) == 4
    assert assignment.roles == {"flair": flair, "t1": t1, "t1ce": t1ce, "t2": t2}


def test_conflict_prefers_the_canonical_name_and_reports_the_others():
    vols = volumes("AX T1 POST GAD", "AX T1 POST GAD MPR REFORMAT", "AX T2 FLAIR")
    assignment = assign_roles(vols, new_keys={v.key for v in vols})
    assert by_name(assignment, vols)["t1ce"] == "AX T1 POST GAD"
    (conflict,) = assignment.conflicts
    assert conflict.role == "t1ce"
    assert conflict.chosen == vols[0].key and conflict.others == (vols[1].key,)


def test_a_new_case_replaces_the_old_one_but_manual_choices_elsewhere_stay():
    old = volumes("Brats18_a_flair", "Brats18_a_t1", "Brats18_a_t1ce", "Brats18_a_t2")
    first = assign_roles(old, new_keys={v.key for v in old})
    manual_t2 = old[0].key  # the user overrode T2 by hand (odd, but theirs)
    current = {**first.roles, "t2": manual_t2, "flair": None}
    new = [Volume("new1", "BraTS-GLI-00001-000-t1c"), Volume("new2", "BraTS-GLI-00001-000-t2f")]
    second = assign_roles(old + new, current=current, new_keys={"new1", "new2"})
    assert second.roles["t1ce"] == "new1" and second.roles["flair"] == "new2"
    assert second.roles["t2"] == manual_t2
    assert second.roles["t1"] == old[1].key


def test_channel_suffixes_need_all_four_channels():
    partial = volumes("BRATS_001_0000", "BRATS_001_0001", "BRATS_002_0002")
    assert channel_roles(partial) == {}


def test_case_stem_and_result_names():
    assert case_stem(["Brats18_2013_2_1_flair.nii.gz", "Brats18_2013_2_1_t1",
                      "Brats18_2013_2_1_t1ce", "Brats18_2013_2_1_t2"]) == "Brats18_2013_2_1"
    assert case_stem(["BraTS-GLI-00005-000-t1c", "BraTS-GLI-00005-000-t1n",
                      "BraTS-GLI-00005-000-t2f", "BraTS-GLI-00005-000-t2w"]) \
        == "BraTS-GLI-00005-000"
    assert case_stem(["3: AX T1 POST GAD", "4: AX T2 FLAIR"]) == ""
    assert segmentation_name("DOE^JANE", ["x_t1"], "x_t1ce") == "DOE^JANE OMNet tumour"
    assert segmentation_name(None, ["3: AX T1 POST GAD", "4: AX T2 FLAIR"],
                             "3: AX T1 POST GAD") == "3: AX T1 POST GAD OMNet tumour"
    # stems shorter than three characters say nothing: fall back to the T1c volume's name
    assert case_stem(["c9_t1", "c9_t2"]) == ""
    assert segmentation_name("", ["c9_t1", "c9_t2"], "c9_t1ce") == "c9_t1ce OMNet tumour"


def test_a_runs_suffix_ends_the_names_of_its_nodes():
    assert run_suffix("c9 OMNet tumour_2", "c9 OMNet tumour") == "_2"
    assert run_suffix("c9 OMNet tumour", "c9 OMNet tumour") == ""  # the first run
    assert result_part_name("c9 OMNet tumour_2", "_2", "lesions") == "c9 OMNet tumour lesions_2"
    # renamed by the user after the run: the whole name stays, the suffix still ends it
    assert result_part_name("left frontal", "_2", "lesions") == "left frontal lesions_2"
    assert result_part_name("c9 OMNet tumour", "", "lesions") == "c9 OMNet tumour lesions"


def test_attention_titles():
    assert attention_title("/tmp/run/cga_core_pt.nii.gz") == "core guidance Pt (CGA-core)"
    assert attention_title("cga_tumour_bottom_channel.nii.gz").startswith("least-weighted")
    assert attention_title("/x/other_map.nii.gz") == "other map"


def test_volumes_must_share_one_transform():
    assert transform_problem([None, None, None, None]) is None
    assert transform_problem(["vtkMRMLLinearTransformNode4"] * 4) is None
    assert "different transforms" in transform_problem([None, None, "vtkMRMLTransformNode1", None])


def test_volumes_of_several_patients_are_questioned_before_the_run():
    jane = (7, "DOE^JANE")
    one = {"flair": jane, "t1": jane, "t1ce": jane, "t2": jane}
    assert patient_problem(one) is None
    assert patient_problem({"flair": None, "t1": None, "t1ce": None, "t2": None}) is None
    assert patient_problem({**one, "t2": None}) is None  # a file loaded beside the study
    question = patient_problem({**one, "flair": (9, "ROE^RICHARD")})
    assert question == ("The selected volumes belong to 2 patients in the Data module (FLAIR "
                        "under 'ROE^RICHARD'; T1, T1c, T2 under 'DOE^JANE'). Segment them "
                        "together anyway?")
    anonymous = patient_problem({**one, "t2": (11, "DOE^JANE")})  # two patients, one name
    assert anonymous is not None and anonymous.startswith("The selected volumes belong to 2")


def test_an_anonymised_dicom_load_gets_its_roles_from_the_acquisition():
    vols = [Volume("n1", "3: Unnamed Series", "t1"), Volume("n2", "4: Unnamed Series", "t1ce"),
            Volume("n3", "5: Unnamed Series", "flair"), Volume("n4", "6: Unnamed Series", "t2"),
            Volume("n5", "7: Unnamed Series", None)]
    assert by_name(assign_roles(vols), vols) == {
        "flair": "5: Unnamed Series", "t1": "3: Unnamed Series", "t1ce": "4: Unnamed Series",
        "t2": "6: Unnamed Series"}


def test_a_name_wins_over_the_acquisition():
    vols = [Volume("n1", "AX T2 FSE"), Volume("n2", "8: Unnamed Series", "t2"),
            Volume("n3", "9: Unnamed Series", "flair")]
    roles = assign_roles(vols).roles
    assert roles["t2"] == "n1" and roles["flair"] == "n3"
    # a volume named as one sequence is never given another by its parameters
    assert assign_roles([Volume("n1", "AX T2 FSE", "flair")]).roles["flair"] is None


def test_one_volume_selected_for_two_sequences_is_named_before_the_run():
    four = {"flair": "node1", "t1": "node2", "t1ce": "node3", "t2": "node4"}
    assert selection_problem(four) is None
    problem = selection_problem(dict(four, t2="node1"))
    assert problem.startswith("The same volume is selected as FLAIR and T2.")
    assert "T1c" in selection_problem(dict(four, t1ce="node2"))
    assert selection_problem(dict(four, t2=None)) is None  # an empty selector is not a repeat


def test_a_frame_of_a_4d_series_gets_no_role():
    """A DCE or DWI series loaded from DICOM is a Sequence whose proxy, a plain scalar
    volume, shows its current frame; its name says T1 or T2 as often as not, and only that
    frame would be segmented, so auto-detection leaves it out."""
    vols = [Volume("n1", "DCE T1 FL3D", frames=40), Volume("n2", "T1 SE"),
            Volume("n3", "DWI T2 EPI", frames=3), Volume("n4", "AX T2 FSE")]
    assert by_name(assign_roles(vols, new_keys={"n1", "n2", "n3", "n4"}), vols) == {
        "flair": None, "t1": "T1 SE", "t1ce": None, "t2": "AX T2 FSE"}
    assert by_name(assign_roles(vols[:1]), vols) == {
        "flair": None, "t1": None, "t1ce": None, "t2": None}
    # a sequence of one frame is that volume: it keeps its role
    assert assign_roles([Volume("n5", "T1 post", frames=1)]).roles["t1ce"] == "n5"


def test_a_4d_series_selected_by_hand_is_refused_before_the_run():
    chosen = {"flair": ("FLAIR", 1), "t1": ("T1", 1), "t1ce": ("T1 post", 1), "t2": ("T2", 1)}
    assert series_problem(chosen) is None
    assert series_problem(dict(chosen, t2=None)) is None  # an empty selector
    problem = series_problem(dict(chosen, t1ce=("DCE T1 FL3D", 40)))
    assert problem.startswith("The T1c volume 'DCE T1 FL3D' is one frame of a series of 40 "
                              "(a Sequence")
    assert "only the frame shown would be segmented" in problem
    both = series_problem(dict(chosen, t1ce=("DCE", 40), t2=("DWI", 3)))
    assert "'DCE' is one frame of a series of 40; the T2 volume 'DWI'" in both


#: nnU-Net's own BraTS conversions (Dataset042/043/137): channel 0 T1, 1 T1ce, 2 T2, 3 FLAIR.
NNUNET_BRATS = ("t1", "t1ce", "t2", "flair")


def test_channel_files_follow_the_channel_order_of_their_folder():
    """The same four names in nnU-Net's BraTS order: _0000 is the T1 and _0003 the FLAIR."""
    vols = [Volume(f"n{i}", f"BraTS2021_00495_{i:04d}", channels=NNUNET_BRATS)
            for i in range(4)]
    assignment = assign_roles(vols, new_keys={v.key for v in vols})
    assert by_name(assignment, vols) == {
        "flair": "BraTS2021_00495_0003", "t1": "BraTS2021_00495_0000",
        "t1ce": "BraTS2021_00495_0001", "t2": "BraTS2021_00495_0002"}


def test_file_channels_reads_the_dataset_json_of_the_folder_or_the_one_above(tmp_path):
    images = tmp_path / "Dataset137_BraTS2021" / "imagesTs"
    images.mkdir(parents=True)
    (images.parent / "dataset.json").write_text(json.dumps(
        {"channel_names": {"0": "T1", "1": "T1ce", "2": "T2", "3": "Flair"}}))
    assert file_channels(str(images / "B_0000.nii.gz")) == NNUNET_BRATS
    (images / "dataset.json").write_text(json.dumps(
        {"modality": {"0": "T2w", "1": "FLAIR", "2": "T1w", "3": "T1gd"}}))  # nearer wins
    assert file_channels(str(images / "B_0000.nii.gz")) == ("t2", "flair", "t1", "t1ce")
    (images / "dataset.json").write_text(json.dumps({"channel_names": {"0": "CT"}}))
    assert file_channels(str(images / "B_0000.nii.gz")) == ("flair", "t1", "t1ce", "t2")
    assert file_channels(str(tmp_path / "B_0000.nii.gz")) == ("flair", "t1", "t1ce", "t2")
    assert file_channels(None) == file_channels("") == ("flair", "t1", "t1ce", "t2")


def test_a_bad_dataset_json_is_read_and_warned_about_once_until_it_changes(
        tmp_path, monkeypatch, caplog):
    """Two panel refreshes ask for the four channel files of one folder (eight calls): the
    invalid dataset.json beside them is read once and warned about once; fixed (a new
    modification time), it is read again and its order used."""
    meta = tmp_path / "dataset.json"
    meta.write_text("{not json")
    reads = []
    read_text = Path.read_text
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: reads.append(self.name)
                        or read_text(self, *a, **k))
    files = [str(tmp_path / f"B_{index:04d}.nii.gz") for index in range(4)]
    with caplog.at_level(logging.WARNING):
        for _refresh in range(2):
            assert [file_channels(name) for name in files] == [
                ("flair", "t1", "t1ce", "t2")] * 4  # MSD's order
    assert reads == ["dataset.json"]
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    meta.write_text(json.dumps({"channel_names": {"0": "T1", "1": "T1ce", "2": "T2",
                                                  "3": "Flair"}}))
    os.utime(meta, ns=(10**18, 10**18))
    assert file_channels(files[0]) == NNUNET_BRATS
    assert reads == ["dataset.json"] * 2
