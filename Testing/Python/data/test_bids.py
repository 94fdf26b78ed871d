"""A BIDS dataset: its anat folders are the cases, named by subject and session."""

from __future__ import annotations

from pathlib import Path

from omnet.data.bids import bids_case_id
from omnet.data.discovery import find_case_files
from omnet.inference.batch import find_batch_cases

SCANS = ("FLAIR", "T1w", "ce-gadovist_T1w", "T2w")


def _anat(folder: Path, prefix: str) -> Path:
    folder.mkdir(parents=True)
    for scan in SCANS:
        name = f"{prefix}_{scan}"
        (folder / f"{name}.nii.gz").write_bytes(b"")
        (folder / f"{name}.json").write_text("{}")
    return folder


def test_the_anat_folders_are_the_cases(tmp_path):
    root = tmp_path / "study"
    _anat(root / "sub-01" / "ses-pre" / "anat", "sub-01_ses-pre")
    _anat(root / "sub-01" / "ses-post" / "anat", "sub-01_ses-post")
    _anat(root / "sub-02" / "anat", "sub-02")
    (root / "dataset_description.json").write_text("{}")
    (root / "derivatives" / "omnet").mkdir(parents=True)
    cases = find_batch_cases(root, root / "derivatives" / "omnet")
    assert [c.case_id for c in cases] == ["sub-01_ses-post", "sub-01_ses-pre", "sub-02"]
    assert cases[1].output == root / "derivatives" / "omnet" / "sub-01_ses-pre.nii.gz"


def test_an_anat_folder_is_one_case_named_by_subject_and_session(tmp_path):
    anat = _anat(tmp_path / "sub-07" / "ses-pre" / "anat", "sub-07_ses-pre")
    case = find_case_files(anat)
    assert case.case_id == "sub-07_ses-pre"
    assert case.t1ce.name == "sub-07_ses-pre_ce-gadovist_T1w.nii.gz"
    assert case.t1.name == "sub-07_ses-pre_T1w.nii.gz"
    assert bids_case_id(tmp_path / "other" / "anat") is None
    assert bids_case_id(tmp_path / "sub-07") is None


def _channels(folder: Path, *stems: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stem in stems:
        for channel in range(4):
            (folder / f"{stem}_{channel:04d}.nii.gz").write_bytes(b"")
    return folder


def test_nnunet_channel_files_are_one_case_per_stem(tmp_path):
    images = _channels(tmp_path / "imagesTs", "BRATS_001", "BRATS_002")
    (images / "BRATS_003_0000.nii.gz").write_bytes(b"")  # an incomplete case fails
    cases = find_batch_cases(images, tmp_path / "out")
    assert [(c.case_id, c.status) for c in cases] == [
        ("BRATS_001", "pending"), ("BRATS_002", "pending"), ("BRATS_003", "failed")]
    assert cases[1].source.t1ce == images / "BRATS_002_0002.nii.gz"   # channel 2: T1gd
    assert cases[1].source.flair == images / "BRATS_002_0000.nii.gz"
    assert cases[0].output == tmp_path / "out" / "BRATS_001.nii.gz"
    one = _channels(tmp_path / "one", "BRATS_009")
    assert [c.case_id for c in find_batch_cases(one, tmp_path / "out")] == ["BRATS_009"]
    case = find_case_files(one)
    assert case.case_id == "BRATS_009" and case.t2 == one / "BRATS_009_0003.nii.gz"
