"""Sequence naming rules and case-folder discovery on realistic file names."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnet.data.dicom import DicomSeries
from omnet.data.discovery import find_case_files, scan_dataset
from omnet.data.naming import case_id_from_file, classify_name
from omnet.data.sidecar import Sidecar
from omnet.errors import InputError

NAMES = {
    # BraTS 2018-2021
    "Brats18_2013_2_1_flair.nii.gz": "flair", "Brats18_2013_2_1_t1.nii.gz": "t1",
    "Brats18_2013_2_1_t1ce.nii.gz": "t1ce", "Brats18_2013_2_1_t2.nii.gz": "t2",
    "Brats18_2013_2_1_seg.nii.gz": "seg", "BraTS2021_00000_t1ce.nii.gz": "t1ce",
    # BraTS 2023
    "BraTS-GLI-00000-000-t2f.nii.gz": "flair", "BraTS-GLI-00000-000-t1n.nii.gz": "t1",
    "BraTS-GLI-00000-000-t1c.nii.gz": "t1ce", "BraTS-GLI-00000-000-t2w.nii.gz": "t2",
    "BraTS-GLI-00000-000-seg.nii.gz": "seg",
    # clinical series names
    "AX T1 POST GAD": "t1ce", "3: AX T1": "t1", "T2 FLAIR AX": "flair", "AX T2": "t2",
    "t1_mprage_gd.nrrd": "t1ce", "T1+C": "t1ce", "sag_T1_MPRAGE.mha": "t1", "T1Gd": "t1ce",
    "t2_tse_tra": "t2", "T1 pre": "t1", "patient1_T1w.nii": "t1", "t2-flair": "flair",
    "AX T1 MPRAGE C+": "t1ce", "3D T1 BRAVO +C": "t1ce", "SAG T1 C+ FS": "t1ce",
    "T1W_3D_TFE+C": "t1ce", "T1W_SE+GD": "t1ce", "8: Sag 3D T1 MPRAGE Post": "t1ce",
    # GE's T1-weighted FLAIR is a T1 (the BrainLesion example's "AX_T1_POST_GD_FLAIR" is its T1c)
    "AX T1 FLAIR": "t1", "AX T1 FLAIR POST": "t1ce", "AX_T1_POST_GD_FLAIR": "t1ce",
    "T1FLAIR_AX": "t1", "AX T2 FLAIR": "flair",
    "FSPGR 3D POST": "t1ce", "AX FSPGR 3D": "t1", "sT1W_3D_TFE_gd": "t1ce",
    "eT1W_SE_CLEAR": "t1", "t2_tirm_tra_dark-fluid": "flair", "t1_se_tra_KM": "t1ce",
    "T1 +Gd": "t1ce", "COR T1 POST GAD": "t1ce", "T2W_FLAIR": "flair", "T1W_3D_TFE_GD": "t1ce",
    "t2_spc_da-fl_sag_p2_iso": "flair", "t2_spc_da-fl_irprep_sag_p2_iso": "flair",
    # a case id ending in "t2" is no "T2 FLAIR": the sequence after it still counts
    "patient2_flair.nii.gz": "flair", "patient2_t1.nii.gz": "t1", "Pat2-FLAIR.nii": "flair",
    # BIDS: a "ses-pre" session is not pre-contrast; "ce-<agent>" is the contrast agent
    "sub-01_ses-pre_ce-gadovist_T1w.nii.gz": "t1ce", "sub-01_ses-pre_T1w.nii.gz": "t1",
    "sub-01_ses-pre_FLAIR.nii.gz": "flair", "sub-01_run-1_T2w.nii.gz": "t2",
    "sub-02_ce-Gd_acq-mprage_T1w.nii.gz": "t1ce", "sub-01_dwi.nii.gz": None,
    "T2 DARK FLUID TRA": "flair", "Sag CUBE FLAIR": "flair", "t1_vibe_fs_tra_post": "t1ce",
    # registration pipelines: <moving>_to_<fixed> and the like name the moving sequence first
    "flair_to_t1ce.nii.gz": "flair", "t1_to_t1ce.nii.gz": "t1", "T2_to_T1c_reg.nii.gz": "t2",
    "flair_in_t1ce_space.nii.gz": "flair", "flair_registered_to_t1.nii.gz": "flair",
    "Brats18_x_t1ce_to_sri24.nii.gz": "t1ce", "seg_to_t1ce.nii.gz": "seg",
    "swi_to_t1ce.nii.gz": None,
    "sub-01_space-T1w_FLAIR.nii.gz": "flair", "sub-01_space-T1w_ce-Gd_T1w.nii.gz": "t1ce",
    # not one of the four inputs
    "Brats18_x_t1ce_omnet.nii.gz": None, "BRATS_001_omnet.nii.gz": None,  # OMNet's outputs
    "AX T2* GRE": None, "SWI": None, "DWI b1000": None, "BRATS_001.nii.gz": None,
    "AX T2 GRE": None, "T2_FFE": None, "T1 MAP": None, "ADC map": None,
    # subtractions (post minus pre) and projections are computed, not the T1c trained on
    "T1 POST SUB": None, "T1 post Subtraction": None, "SUB T1+C": None,
    "T1 MPR POST MIP": None, "t1_vibe_fs_post_SUB": None, "SUB_T1W_3D_TFE_GD": None,
    # dynamic (DCE, perfusion) runs are no T1
    "T1 DCE": None, "AX T1 DYNAMIC": None, "t1_vibe_dyn": None, "DCE_perfusion": None,
    "t1_twist": None, "ep2d_perf": None, "T1_4D": None,
    # maps and localizers
    "ADC": None, "FA": None, "TRACEW": None, "CBV": None, "CBF": None, "MTT": None,
    "Ktrans": None, "3-plane loc": None, "T1 localizer": None, "AX T1 SCOUT": None,
    "Survey": None,
    # a flip angle is no FA map: "FA 15" beside a sequence keeps the sequence
    "AX T1 FA 15": "t1", "T1 3D FA 8 POST": "t1ce",
    # a reformat is its sequence; a FLAIR after contrast is still a FLAIR
    "T1 MPR POST": "t1ce", "T1 POST RFMT": "t1ce", "AX T1 MPR": "t1", "T2 FLAIR POST": "flair",
    # "sub" only as its own word: case and subject ids are no subtraction
    "SUBJECT01_t1ce.nii.gz": "t1ce", "sub01_flair.nii.gz": "flair",
    "sub_01_t1ce.nii.gz": "t1ce", "SUB 12 T2": "t2",
    "sub_A01_flair.nii.gz": "flair", "sub_CC110033_T1w.nii.gz": "t1", "sub.01_t2.nii.gz": "t2",
    "SUB 3D T1 POST": None, "SUB_T1_3D": None, "sub_t10_flair": "flair",
}


@pytest.mark.parametrize("name,role", list(NAMES.items()))
def test_classify_name(name: str, role: str | None) -> None:
    assert classify_name(name) == role


def test_a_derived_series_is_not_read_by_its_sources_protocol_name() -> None:
    """A subtraction keeps the protocol of the series it was computed from: its description
    says what it is, so the protocol name is not asked; a reformat ("MPR") is."""
    def series(description: str) -> DicomSeries:
        return DicomSeries(Path("s"), description, "study", (), protocol="t1_vibe_fs_post")

    assert series("t1_vibe_fs_post_SUB").named_role is None
    assert series("T1 MPR POST MIP").named_role is None
    assert series("MPR").named_role == "t1ce"
    assert Sidecar("T1 POST SUB", "t1_vibe_fs_post").named_role is None
    assert Sidecar("DCE", "t1_vibe_dyn").named_role is None
    assert Sidecar("", "t1_vibe_fs_post").named_role == "t1ce"


def _touch(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")
    return folder


@pytest.mark.parametrize("name, case_id", [
    ("BRATS_001.nii.gz", "BRATS_001"),
    ("export.zip", "export"),
    ("patient.v2.nii.gz", "patient.v2"),  # the dot is part of the name, not an ending
    ("Brats18_x_t1ce.NRRD", "Brats18_x_t1ce"),
    ("scan.mha", "scan"),
])
def test_one_rule_for_a_case_id_from_a_file_name(name: str, case_id: str) -> None:
    assert case_id_from_file(name) == case_id


def test_brats2023_case_folder(tmp_path: Path) -> None:
    case = _touch(tmp_path / "BraTS-GLI-00001-000", *(
        f"BraTS-GLI-00001-000-{s}.nii.gz" for s in ("t2f", "t1n", "t1c", "t2w", "seg")))
    files = find_case_files(case, need_seg=True)
    assert files.flair.name.endswith("t2f.nii.gz") and files.t1ce.name.endswith("t1c.nii.gz")
    assert files.seg is not None and files.four_d is None


def test_single_unnamed_image_is_a_4d_case(tmp_path: Path) -> None:
    case = _touch(tmp_path / "BRATS_001", "BRATS_001.nii.gz", "notes.txt")
    files = find_case_files(case)
    assert files.four_d is not None and files.sequences() == {}


def test_label_maps_omnet_wrote_are_not_images_of_the_case(tmp_path: Path) -> None:
    """``omnet segment`` run in a case folder writes ``<t1ce or case>_omnet.nii.gz`` there;
    the folder must still be read as it was."""
    case = _touch(tmp_path / "c", "c_flair.nii.gz", "c_t1.nii.gz", "c_t1ce.nii.gz",
                  "c_t2.nii.gz", "c_t1ce_omnet.nii.gz", "c_omnet.nii.gz")
    assert find_case_files(case).t1ce == case / "c_t1ce.nii.gz"
    four_d = _touch(tmp_path / "BRATS_001", "BRATS_001.nii.gz", "BRATS_001_omnet.nii.gz")
    assert find_case_files(four_d).four_d == four_d / "BRATS_001.nii.gz"


def test_the_current_folder_is_named_as_it_is(tmp_path: Path, monkeypatch) -> None:
    """``omnet segment .`` (or ``..``): the case id is the folder's name, not empty."""
    case = _touch(tmp_path / "p3", *(f"p3_{s}.nii.gz" for s in ("flair", "t1", "t1ce", "t2")))
    monkeypatch.chdir(case)
    assert find_case_files(".").case_id == "p3"
    _touch(case / "sub")
    monkeypatch.chdir(case / "sub")
    assert find_case_files("..").case_id == "p3"


def test_missing_sequence_names_what_was_seen(tmp_path: Path) -> None:
    case = _touch(tmp_path / "c", "c_flair.nii.gz", "c_t1.nii.gz", "c_t2.nii.gz")
    with pytest.raises(InputError, match=r"no T1c.*c_flair\.nii\.gz"):
        find_case_files(case)


def test_ambiguous_sequence_is_an_error(tmp_path: Path) -> None:
    case = _touch(tmp_path / "c", "c_flair.nii.gz", "c_t2flair.nrrd", "c_t1.nii.gz",
                  "c_t1ce.nii.gz", "c_t2.nii.gz")
    with pytest.raises(InputError, match=r"several files look like FLAIR.*name the right one"):
        find_case_files(case)
    chosen = case / "c_t2flair.nrrd"   # omnet segment c --flair c/c_t2flair.nrrd
    assert find_case_files(case, given={"flair": chosen}).flair == chosen


def test_two_label_maps_matter_only_where_one_is_needed(tmp_path: Path) -> None:
    """Segmenting needs no label map, so ``seg`` beside ``seg_manual`` is no error there;
    training, which reads one, still asks which."""
    case = _touch(tmp_path / "c", *(f"c_{s}.nii.gz" for s in
                                    ("flair", "t1", "t1ce", "t2", "seg", "seg_manual")))
    files = find_case_files(case)
    assert files.t1ce == case / "c_t1ce.nii.gz" and files.seg is None
    with pytest.raises(InputError, match=r"several files look like label map"):
        find_case_files(case, need_seg=True)


def test_dataset_scan_reports_bad_cases_by_name(tmp_path: Path) -> None:
    names = ("flair", "t1", "t1ce", "t2", "seg")
    _touch(tmp_path / "good", *(f"good_{n}.nii.gz" for n in names))
    _touch(tmp_path / "noseg", *(f"noseg_{n}.nii.gz" for n in names[:4]))
    scan = scan_dataset(tmp_path)
    assert [c.case_id for c in scan.cases] == ["good"]
    assert [p[0] for p in scan.problems] == ["noseg"]


def test_msd_layout(tmp_path: Path) -> None:
    _touch(tmp_path / "imagesTr", "BRATS_001.nii.gz", "BRATS_002.nii.gz")
    _touch(tmp_path / "labelsTr", "BRATS_001.nii.gz")
    scan = scan_dataset(tmp_path)
    assert [(c.case_id, c.label_scheme) for c in scan.cases] == [("BRATS_001", "msd")]
    assert scan.problems[0][0] == "BRATS_002"


def test_nnunet_v2_layout(tmp_path: Path) -> None:
    """Channel files ``<case>_0000`` .. ``_0003`` in imagesTr, ``<case>`` in labelsTr."""
    _touch(tmp_path / "imagesTr", *(f"BRATS_{n}_{c:04d}.nii.gz" for n in ("001", "002")
                                    for c in range(4)))
    _touch(tmp_path / "labelsTr", "BRATS_001.nii.gz")
    (tmp_path / "dataset.json").write_text('{"labels": {"background": 0, "edema": 1, '
                                           '"non-enhancing tumor": 2, "enhancing tumour": 3}}')
    scan = scan_dataset(tmp_path)
    assert [(c.case_id, c.label_scheme) for c in scan.cases] == [("BRATS_001", "msd")]
    case = scan.cases[0]
    assert case.t1ce.name == "BRATS_001_0002.nii.gz" and case.four_d is None
    assert case.seg == tmp_path / "labelsTr" / "BRATS_001.nii.gz"
    assert scan.problems == [("BRATS_002", "no label map labelsTr/BRATS_002.nii.gz")]
    # nnU-Net's region-based BraTS datasets list regions: edema = whole tumour minus core
    regions = '"background": 0, "whole tumor": [1, 2, 3], "tumor core": [%s], "enhancing tumor": 3'
    (tmp_path / "dataset.json").write_text('{"labels": {%s}}' % (regions % "2, 3"))
    assert scan_dataset(tmp_path).cases[0].label_scheme == "msd"
    (tmp_path / "dataset.json").write_text('{"labels": {%s}}' % (regions % "1, 3"))
    # 1 necrotic (core minus enhancing), 2 edema, 3 enhancing: BraTS 2023's order
    assert scan_dataset(tmp_path).cases[0].label_scheme == "brats2023"


def test_real_cases_are_found(brats_dir: Path) -> None:
    scan = scan_dataset(brats_dir)
    assert len(scan.cases) == 16 and not scan.problems


def test_a_ge_protocol_with_t1_flair_is_one_case(tmp_path: Path) -> None:
    """BrainLesion/preprocessing's raw TCGA-DU-7294 series (a GE protocol: its T1c is a
    T1-weighted FLAIR after gadolinium) name four different sequences."""
    names = {
        "flair": "AXIAL_FLAIR_RF2_150_TCGA-DU-7294_GE_AXIAL_FLAIR_RF2_150_IR_7_fla.nii.gz",
        "t1ce": "AX_T1_POST_GD_FLAIR_TCGA-DU-7294_GE_AX_T1_POST_GD_FLAIR_RM_13_t1c.nii.gz",
        "t1": "AX_T1_pre_gd_TCGA-DU-7294_GE_AX_T1_pre_gd_RM_8_t1.nii.gz",
        "t2": "AX_T2_FR-FSE_RF2_150_TCGA-DU-7294_GE_AX_T2_FR-FSE_RF2_150_RM_4_t2.nii.gz",
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"")
    case = find_case_files(tmp_path)
    assert {role: path.name for role, path in case.sequences().items()} == names


@pytest.mark.parametrize("name, case_id, role", [
    ("subject_t1_flair.nii.gz", "subject_t1", "flair"),
    ("subject_t1_t2.nii.gz", "subject_t1", "t2"),
    ("SUBJECT_T2_flair.nii", "subject_t2", "flair"),
    ("subject_t1.nii.gz", "subject_t1", None),  # the case id alone names no sequence
    ("flair.nii.gz", "flair", "flair"),  # ... unless it is one sequence word itself
    ("T1CE.nii.gz", "t1ce", "t1ce"),
    ("Brats18_2013_2_1_t1ce.nii.gz", "Brats18_2013_2_1", "t1ce"),
    ("BraTS-GLI-00000-000-t1c.nii.gz", "BraTS-GLI-00000-000", "t1ce"),
    ("BraTS-GLI-00000-000-t2f.nii.gz", "BraTS-GLI-00000-000", "flair"),
    ("BRATS_001_0000.nii.gz", "BRATS_001", None),
    ("case10_t1.nii.gz", "case1", "t1"),  # another case id that starts alike is kept
    ("t1_flair_t2.nii.gz", "t1_flair", "t2"),
    ("c_t1ce.nii.gz", "other", "t1ce"),
])
def test_the_case_id_a_file_name_starts_with_names_no_sequence(name, case_id, role) -> None:
    assert classify_name(name, case_id=case_id) == role


def test_a_case_folder_named_like_a_sequence(tmp_path: Path) -> None:
    """``subject_t1/subject_t1_flair.nii.gz``: the case id's ``t1`` made every file a T1."""
    names = {role: f"subject_t1_{role}.nii.gz" for role in ("flair", "t1", "t1ce", "t2")}
    case = _touch(tmp_path / "data" / "subject_t1", *names.values(), "subject_t1_seg.nii.gz")
    files = find_case_files(case, need_seg=True)
    assert {role: path.name for role, path in files.sequences().items()} == names
    assert files.seg.name == "subject_t1_seg.nii.gz"
    assert [c.case_id for c in scan_dataset(tmp_path / "data").cases] == ["subject_t1"]
    one = _touch(tmp_path / "patient_t2", "patient_t2.nii.gz")  # one 4D file named as its case
    assert find_case_files(one).four_d == one / "patient_t2.nii.gz"
    channels = _touch(tmp_path / "BRATS_t1", *(f"BRATS_t1_{k:04d}.nii.gz" for k in range(4)))
    assert find_case_files(channels).t1.name == "BRATS_t1_0001.nii.gz"
    plain = {role: f"{role}.nii.gz" for role in ("flair", "t1", "t1ce", "t2")}
    flair = _touch(tmp_path / "flair", *plain.values())  # a folder named as one sequence
    assert {role: path.name for role, path in find_case_files(flair).sequences().items()} \
        == plain


def test_given_files_complete_a_folder(tmp_path: Path) -> None:
    case = _touch(tmp_path / "c", "c_flair.nii.gz", "c_t1.nii.gz", "c_t2.nii.gz",
                  "c_t1ce.nii.gz", "c_t1ce_sub.nii.gz", "series_0007.nii.gz")
    given = {"t1ce": case / "series_0007.nii.gz"}
    files = find_case_files(case, given=given)   # the two named T1c files are passed over
    assert (files.t1ce, files.flair.name, files.t2.name) == (
        case / "series_0007.nii.gz", "c_flair.nii.gz", "c_t2.nii.gz")
    outside = _touch(tmp_path / "other", "t2_better.nii.gz") / "t2_better.nii.gz"
    assert find_case_files(case, given={"t1ce": case / "c_t1ce.nii.gz",
                                        "t2": outside}).t2 == outside


def test_a_dataset_json_that_cannot_be_read_is_one_line(tmp_path, monkeypatch):
    """A dataset.json that is there but unreadable (permissions) is named, not guessed at:
    the MSD order in its place could swap the sequences."""
    from pathlib import Path

    from omnet.data.discovery import dataset_description
    from omnet.errors import InputError

    (tmp_path / "dataset.json").write_text("{}")

    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_text", refuse)
    with pytest.raises(InputError, match=r"cannot read .*dataset\.json: Permission denied"):
        dataset_description(tmp_path)


def test_a_link_to_a_case_folder_named_like_a_sequence(tmp_path: Path) -> None:
    """``omnet segment link`` where ``link`` -> ``subject_t1``: the files start with the
    folder's own name, not the link's, and that is the case id left out of them."""
    names = {role: f"subject_t1_{role}.nii.gz" for role in ("flair", "t1", "t1ce", "t2")}
    case = _touch(tmp_path / "subject_t1", *names.values())
    link = tmp_path / "link"
    link.symlink_to(case, target_is_directory=True)
    files = find_case_files(link)
    assert {role: path.name for role, path in files.sequences().items()} == names
