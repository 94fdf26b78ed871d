"""Training sets in the layouts the field uses: which file is which sequence, which value is
which tumour class (expected values derived by hand from tiny synthetic volumes)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from conftest import phantom_classes, phantom_images, write_case

from omnet.data.discovery import scan_dataset
from omnet.data.imageio import read_case
from omnet.errors import InputError
from omnet.training.cache import _cache_key, prepare_case
from omnet.training.dataset import CaseCheck, check_dataset, format_check_table

#: nnU-Net's own BraTS conversions (Dataset042/043/137) store T1, T1ce, T2, FLAIR.
NNUNET_BRATS_CHANNELS = {"0": "T1", "1": "T1ce", "2": "T2", "3": "Flair"}
NNUNET_BRATS_LABELS = {"background": 0, "whole tumor": [1, 2, 3], "tumor core": [2, 3],
                       "enhancing tumor": [3]}


def _volume(offset: float) -> np.ndarray:
    """A 4 x 5 x 6 ramp shifted by ``offset``: its first voxel tells which file it was."""
    return (offset + np.arange(120, dtype=np.float32)).reshape(4, 5, 6)


def _touch(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")


def test_nnunet_channel_files_follow_the_channel_names(tmp_path: Path) -> None:
    """Dataset137_BraTS2021's _0000 is the T1 and _0003 the FLAIR, not MSD's order."""
    _touch(tmp_path / "imagesTr", *(f"B_{c:04d}.nii.gz" for c in range(4)))
    _touch(tmp_path / "labelsTr", "B.nii.gz")
    (tmp_path / "dataset.json").write_text(json.dumps(
        {"channel_names": NNUNET_BRATS_CHANNELS, "labels": NNUNET_BRATS_LABELS}))
    case = scan_dataset(tmp_path).cases[0]
    assert {r: p.name for r, p in case.sequences().items()} == {
        "flair": "B_0003.nii.gz", "t1": "B_0000.nii.gz", "t1ce": "B_0001.nii.gz",
        "t2": "B_0002.nii.gz"}
    assert case.label_scheme == "msd"  # 1 edema, 2 necrotic, 3 enhancing


def test_msd_four_d_volumes_follow_the_modality_names(tmp_path: Path) -> None:
    (tmp_path / "imagesTr").mkdir()
    volumes = [sitk.GetImageFromArray(_volume(1000.0 * k)) for k in range(4)]
    sitk.WriteImage(sitk.JoinSeries(volumes), str(tmp_path / "imagesTr" / "B.nii.gz"))
    (tmp_path / "labelsTr").mkdir()
    labels = sitk.GetImageFromArray(np.zeros((4, 5, 6), np.uint8))
    sitk.WriteImage(labels, str(tmp_path / "labelsTr" / "B.nii.gz"))
    (tmp_path / "dataset.json").write_text(json.dumps(
        {"modality": {"0": "T2w", "1": "FLAIR", "2": "T1w", "3": "t1gd"},
         "labels": {"0": "background", "1": "edema", "2": "non-enhancing tumor",
                    "3": "enhancing tumour"}}))
    case = scan_dataset(tmp_path).cases[0]
    first = {r: sitk.GetArrayFromImage(v).flat[0] for r, v in read_case(case).images.items()}
    assert first == {"t2": 0.0, "flair": 1000.0, "t1": 2000.0, "t1ce": 3000.0}
    msd_order = scan_dataset(tmp_path).cases[0]
    msd_order.channel_order = ("flair", "t1", "t1ce", "t2")
    assert _cache_key(case) != _cache_key(msd_order)  # one file read two ways: two entries


@pytest.mark.parametrize("names", [
    {"0": "T1", "1": "T1ce", "2": "T2"},                      # three channels
    {"0": "T1", "1": "T1ce", "2": "T2", "3": "T1"},           # T1 twice, no FLAIR
    {"0": "MRI", "1": "MRI", "2": "MRI", "3": "MRI"},         # names that say nothing
])
def test_channel_names_that_are_not_the_four_sequences_are_refused(tmp_path: Path,
                                                                   names: dict) -> None:
    _touch(tmp_path / "imagesTr", *(f"B_{c:04d}.nii.gz" for c in range(4)))
    _touch(tmp_path / "labelsTr", "B.nii.gz")
    (tmp_path / "dataset.json").write_text(json.dumps({"channel_names": names}))
    with pytest.raises(InputError, match=r"naming FLAIR, T1, T1c and T2 once each"):
        scan_dataset(tmp_path)


def _write_brats2023_case(root: Path, case_id: str, enhancing_value: int) -> Path:
    """A phantom case with BraTS 2023 names (``-t2f`` ... ``-seg``); its enhancing shell
    written as ``enhancing_value`` (3, or 4 as BraTS 2024 writes a resection cavity)."""
    classes = phantom_classes()
    images = phantom_images(classes)
    folder = root / case_id
    folder.mkdir(parents=True)
    for k, suffix in enumerate(("t2f", "t1n", "t1c", "t2w")):
        raw = np.where(classes > 0, 100.0 + 20.0 * images[k], 0.0).astype(np.float32)
        sitk.WriteImage(sitk.GetImageFromArray(raw), str(folder / f"{case_id}-{suffix}.nii.gz"))
    labels = np.zeros(classes.shape, np.uint8)
    labels[classes == 1], labels[classes == 2], labels[classes == 3] = 1, 2, enhancing_value
    sitk.WriteImage(sitk.GetImageFromArray(labels), str(folder / f"{case_id}-seg.nii.gz"))
    return folder


def test_a_brats2024_resection_cavity_is_not_read_as_2018_enhancing(tmp_path: Path) -> None:
    """BraTS-GLI label maps use 1/2/3 (and 2024's 4 = resection cavity): a case without
    enhancing tumour but with a cavity (0/1/2/4) is refused, not trained as 2018 labels."""
    _write_brats2023_case(tmp_path, "BraTS-GLI-00001-000", enhancing_value=3)
    _write_brats2023_case(tmp_path, "BraTS-GLI-00002-100", enhancing_value=4)
    rows = {r.case: r for r in check_dataset(tmp_path)}
    assert rows["BraTS-GLI-00001-000"].ok and rows["BraTS-GLI-00001-000"].labels == [0, 1, 2, 3]
    cavity = rows["BraTS-GLI-00002-100"]
    assert not cavity.ok and "brats2023" in cavity.problem and "resection cavity" in cavity.problem


def test_a_brats2018_named_case_keeps_its_4_as_enhancing(tmp_path: Path) -> None:
    classes = phantom_classes()
    write_case(tmp_path, "Brats18_x", scheme="brats2018")
    cached = prepare_case(scan_dataset(tmp_path).cases[0], tmp_path / "cache")
    got = np.load(cached.folder / "classes.npy")
    assert cached.meta["label_scheme"] == "brats2018"
    assert [int((got == k).sum()) for k in (1, 2, 3)] == [int((classes == k).sum())
                                                          for k in (1, 2, 3)]


def test_brats2024_label_names_in_dataset_json_fix_the_2023_scheme(tmp_path: Path) -> None:
    """nnU-Net's Dataset226 (BraTS 2024 GLI) labels: NETC 1, SNFH 2, ET 3, RC 4."""
    _touch(tmp_path / "imagesTr", *(f"B_{c:04d}.nii.gz" for c in range(4)))
    _touch(tmp_path / "labelsTr", "B.nii.gz")
    (tmp_path / "dataset.json").write_text(json.dumps(
        {"channel_names": {"0": "T1", "1": "T1C", "2": "T2W", "3": "T2F"},
         "labels": {"background": 0, "NETC": 1, "SNFH": 2, "ET": 3, "RC": 4}}))
    case = scan_dataset(tmp_path).cases[0]
    assert case.label_scheme == "brats2023"
    assert (case.t1.name, case.t1ce.name, case.t2.name, case.flair.name) == (
        "B_0000.nii.gz", "B_0001.nii.gz", "B_0002.nii.gz", "B_0003.nii.gz")


def test_an_nnunet_case_missing_a_channel_is_named_not_dropped(tmp_path: Path) -> None:
    """B lacks _0003: it is a problem case (not skipped silently beside A, and its channel
    files are no 4D images of their own when no case is complete)."""
    _touch(tmp_path / "imagesTr", *(f"A_{c:04d}.nii.gz" for c in range(4)),
           *(f"B_{c:04d}.nii.gz" for c in range(3)))
    _touch(tmp_path / "labelsTr", "A.nii.gz", "B.nii.gz")
    scan = scan_dataset(tmp_path)
    assert [c.case_id for c in scan.cases] == ["A"]
    assert scan.problems == [("B", "no channel file B_0003 (T2) in imagesTr")]
    for c in range(4):
        (tmp_path / "imagesTr" / f"A_{c:04d}.nii.gz").unlink()
    scan = scan_dataset(tmp_path)
    assert scan.cases == [] and [case for case, _ in scan.problems] == ["B"]


def test_a_dataset_given_one_folder_too_high_or_low_is_named_with_the_way_out(
        tmp_path: Path) -> None:
    """nnUNet_raw/ (above Dataset137/) names the dataset to train on, not --input-dir;
    imagesTr/ itself (below it) says it holds images and what a training folder holds."""
    dataset = tmp_path / "nnUNet_raw" / "Dataset137_BraTS2021"
    _touch(dataset / "imagesTr", *(f"B_{c:04d}.nii.gz" for c in range(4)))
    _touch(dataset / "labelsTr", "B.nii.gz")
    scan = scan_dataset(tmp_path / "nnUNet_raw")
    assert scan.cases == [] and scan.problems == [
        ("Dataset137_BraTS2021", f"an MSD / nnU-Net dataset (imagesTr/), not a case: train on "
                                 f"{dataset}")]
    with pytest.raises(InputError, match=r"holds images, not case folders.*give the folder "
                                         r"above it; expected one sub-folder per case"):
        scan_dataset(dataset / "imagesTr")


def test_system_folders_beside_training_cases_are_not_cases(tmp_path: Path) -> None:
    """A dataset unzipped on macOS (__MACOSX/) or copied to a USB drive's root (System Volume
    Information/) lists its one case and no unusable ones, as a batch does."""
    _touch(tmp_path / "A", *(f"A_{role}.nii.gz" for role in ("flair", "t1", "t1ce", "t2", "seg")))
    _touch(tmp_path / "__MACOSX" / "A", "._A_flair.nii.gz", "._A_seg.nii.gz")
    _touch(tmp_path / "System Volume Information", "IndexerVolumeGuid")
    scan = scan_dataset(tmp_path)
    assert [c.case_id for c in scan.cases] == ["A"] and scan.problems == []


def _float_label_case(root: Path, case_id: str, necrotic: float, edema: float) -> None:
    """A phantom case whose label map is float32, with ``necrotic`` written for the 1s and
    ``edema`` for the 2s (4 stays 4): a label map saved after a resampling."""
    folder = write_case(root, case_id)
    classes = phantom_classes()
    labels = np.zeros(classes.shape, np.float32)
    labels[classes == 1], labels[classes == 2], labels[classes == 3] = necrotic, edema, 4.0
    sitk.WriteImage(sitk.GetImageFromArray(labels), str(folder / f"{case_id}_seg.nii.gz"))


def test_label_values_near_whole_numbers_are_rounded_and_said(tmp_path: Path, caplog) -> None:
    """0.9995 and 2.0008 lie within 1e-3 of 1 and 2: read as 1 and 2, with an INFO line."""
    _float_label_case(tmp_path, "near", necrotic=0.9995, edema=2.0008)
    with caplog.at_level("INFO", logger="omnet.data.imageio"):
        rows = check_dataset(tmp_path)
    assert [(r.case, r.ok, r.labels) for r in rows] == [("near", True, [0, 1, 2, 4])]
    rounded = [r.getMessage() for r in caplog.records if "rounded" in r.getMessage()]
    assert rounded == ["near: label map: values 0.9995, 2.0008 rounded to the nearest whole "
                       "number"]


def test_interpolated_label_values_refuse_the_case(tmp_path: Path) -> None:
    """1.5 (between necrotic 1 and edema 2) is no label: that case is left out, named."""
    _float_label_case(tmp_path, "halves", necrotic=1.0, edema=1.5)
    write_case(tmp_path, "whole")
    rows = {r.case: r for r in check_dataset(tmp_path)}
    assert rows["whole"].ok and rows["whole"].labels == [0, 1, 2, 4]
    assert not rows["halves"].ok and rows["halves"].labels is None
    assert rows["halves"].problem == (
        "label map: values 1.5 are not whole numbers (a label map resampled with linear "
        "interpolation?); resample it with nearest neighbour")


def _write_nnunet_case(root: Path, case_id: str, order: tuple[str, ...]) -> None:
    """A phantom case as nnU-Net channel files, channel ``k`` holding sequence ``order[k]``,
    labels in the MSD values (1 edema, 2 necrotic, 3 enhancing)."""
    classes = phantom_classes()
    images = dict(zip(("flair", "t1", "t1ce", "t2"), phantom_images(classes)))
    (root / "imagesTr").mkdir(parents=True, exist_ok=True)
    (root / "labelsTr").mkdir(exist_ok=True)
    for k, role in enumerate(order):
        raw = np.where(classes > 0, 100.0 + 20.0 * images[role], 0.0).astype(np.float32)
        sitk.WriteImage(sitk.GetImageFromArray(raw),
                        str(root / "imagesTr" / f"{case_id}_{k:04d}.nii.gz"))
    labels = np.zeros(classes.shape, np.uint8)
    labels[classes == 2], labels[classes == 1], labels[classes == 3] = 1, 2, 3
    sitk.WriteImage(sitk.GetImageFromArray(labels), str(root / "labelsTr" / f"{case_id}.nii.gz"))


def test_check_says_once_how_every_case_was_read(tmp_path: Path) -> None:
    """Dataset137's order (T1, T1ce, T2, FLAIR) from channel_names, MSD labels from the
    labels: the same for both cases, so said once below the table, <case> for the id."""
    for case_id in ("B1", "B2"):
        _write_nnunet_case(tmp_path, case_id, ("t1", "t1ce", "t2", "flair"))
    (tmp_path / "dataset.json").write_text(json.dumps(
        {"channel_names": NNUNET_BRATS_CHANNELS, "labels": NNUNET_BRATS_LABELS}))
    rows = check_dataset(tmp_path)
    assert rows[0].to_dict() == {
        "case": "B1", "ok": True, "problem": None, "labels": [0, 1, 2, 3],
        "label_scheme": "msd", "scheme_from": "dataset.json labels",
        "sequences": {"flair": "B1_0003.nii.gz", "t1": "B1_0000.nii.gz",
                      "t1ce": "B1_0001.nii.gz", "t2": "B1_0002.nii.gz"},
        "sequences_from": "dataset.json channel_names",
        "grid_change": None, "other_patient_suspected": ""}
    assert format_check_table(rows).splitlines() == [
        "case  ok   labels / problem",
        "B1    yes  0 1 2 3",
        "B2    yes  0 1 2 3",
        "2 of 2 cases usable for training",
        "every usable case is read as:",
        "  labels     msd, by dataset.json labels",
        "  sequences  by dataset.json channel_names: FLAIR <case>_0003.nii.gz, T1 "
        "<case>_0000.nii.gz, T1c <case>_0001.nii.gz, T2 <case>_0002.nii.gz"]


def test_check_shows_the_msd_default_for_a_4d_file_without_dataset_json(tmp_path: Path) -> None:
    (tmp_path / "imagesTr").mkdir()
    (tmp_path / "labelsTr").mkdir()
    sitk.WriteImage(sitk.JoinSeries([sitk.GetImageFromArray(_volume(0.0))] * 4),
                    str(tmp_path / "imagesTr" / "B.nii.gz"))
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((4, 5, 6), np.uint8)),
                    str(tmp_path / "labelsTr" / "B.nii.gz"))
    case = scan_dataset(tmp_path).cases[0]
    assert case.sequence_files() == {"flair": "B.nii.gz [0]", "t1": "B.nii.gz [1]",
                                     "t1ce": "B.nii.gz [2]", "t2": "B.nii.gz [3]"}
    assert (case.order_from, case.scheme_from) == ("the MSD default (no dataset.json)",
                                                   "the MSD default (no dataset.json)")


def test_cases_read_in_different_ways_are_told_apart() -> None:
    """A BraTS 2023 case beside 2018 ones: each row names its way, the ways listed below."""
    files = {"flair": "{}_flair.nii.gz", "t1": "{}_t1.nii.gz", "t1ce": "{}_t1ce.nii.gz",
             "t2": "{}_t2.nii.gz"}
    gli = {"flair": "{}-t2f.nii.gz", "t1": "{}-t1n.nii.gz", "t1ce": "{}-t1c.nii.gz",
           "t2": "{}-t2w.nii.gz"}

    def row(case: str, scheme: str, scheme_from: str, names: dict) -> CaseCheck:
        return CaseCheck(case, True, None, [0, 1, 2, 4 if scheme == "brats2018" else 3],
                         scheme, scheme_from, {r: n.format(case) for r, n in names.items()},
                         "file names")

    rows = [row("a", "brats2018", "the label values", files),
            row("b", "brats2018", "the label values", files),
            row("BraTS-GLI-1", "brats2023", "the label map's file name", gli),
            CaseCheck("c", False, "no T2 found among c_flair.nii.gz", None)]
    assert format_check_table(rows).splitlines() == [
        "case         ok   read  labels / problem",
        "a            yes  #1    0 1 2 4",
        "b            yes  #1    0 1 2 4",
        "BraTS-GLI-1  yes  #2    0 1 2 3",
        "c            NO         no T2 found among c_flair.nii.gz",
        "3 of 4 cases usable for training",
        "read as #1 (2 cases):",
        "  labels     brats2018, by the label values",
        "  sequences  by file names: FLAIR <case>_flair.nii.gz, T1 <case>_t1.nii.gz, T1c "
        "<case>_t1ce.nii.gz, T2 <case>_t2.nii.gz",
        "read as #2 (1 case):",
        "  labels     brats2023, by the label map's file name",
        "  sequences  by file names: FLAIR <case>-t2f.nii.gz, T1 <case>-t1n.nii.gz, T1c "
        "<case>-t1c.nii.gz, T2 <case>-t2w.nii.gz"]
