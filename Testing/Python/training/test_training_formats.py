"""Training sets in the layouts the field uses: which file is which sequence, which value is
which tumour class (expected values derived by hand from tiny synthetic volumes)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from omnet.data.discovery import scan_dataset
from omnet.data.imageio import read_case
from omnet.errors import InputError
from omnet.training.cache import _cache_key

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
