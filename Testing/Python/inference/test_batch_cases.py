"""Which cases a batch folder holds (:func:`omnet.inference.batch.find_batch_cases`); file
names only, no image is read."""

from __future__ import annotations

from pathlib import Path

from omnet.inference.batch import find_batch_cases


def _touch(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")
    return folder


def _case(folder: Path) -> Path:
    return _touch(folder, *(f"{folder.name}_{role}.nii.gz" for role in
                            ("flair", "t1", "t1ce", "t2")))


def test_a_label_map_omnet_wrote_beside_the_cases_is_not_a_case(tmp_path):
    """``omnet segment a`` run in the batch folder leaves ``a_omnet.nii.gz`` there."""
    _case(tmp_path / "cases" / "a")
    _touch(tmp_path / "cases", "a_omnet.nii.gz")
    cases = find_batch_cases(tmp_path / "cases", tmp_path / "out")
    assert [c.case_id for c in cases] == ["a"]
