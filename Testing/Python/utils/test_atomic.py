"""Atomic writes: all or nothing, with the usual file permissions, and no partial files left
for good by a killed write."""

from __future__ import annotations

import logging
import os
import stat
import time
from pathlib import Path

import pytest
import SimpleITK as sitk

from omnet.inference.outputs import write_image
from omnet.utils.atomic import atomic_folder, atomic_path, atomic_write_json, file_sha256


def test_success_renames_into_place_with_umask_permissions(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.nii.gz"
    with atomic_path(target) as tmp:
        assert tmp.name.endswith(".nii.gz") and tmp.parent == target.parent
        tmp.write_bytes(b"data")
        assert not target.exists()
    assert target.read_bytes() == b"data"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert os.listdir(target.parent) == ["out.nii.gz"]


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_failure_leaves_nothing(tmp_path: Path, error: type[BaseException]) -> None:
    target = tmp_path / "out.json"
    with pytest.raises(error), atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise error("stop")
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_an_earlier_complete_file(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    atomic_write_json(target, {"a": 1})
    before = file_sha256(target)
    with pytest.raises(ValueError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise ValueError("disk full")
    assert file_sha256(target) == before


def test_a_new_folder_lands_whole_with_umask_permissions(tmp_path: Path) -> None:
    target = tmp_path / "runs" / "ensemble"
    with atomic_folder(target) as folder:
        (folder / "model.safetensors").write_bytes(b"model")
        (folder / "split.json").write_text("{}")
        assert not target.exists()
    assert sorted(p.name for p in target.iterdir()) == ["model.safetensors", "split.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o777 & ~umask  # not mkdtemp's 0700
    assert os.listdir(target.parent) == ["ensemble"]


def _partial(folder: Path, name: str, age_s: float) -> Path:
    """A temporary file as atomic_path names them, last written ``age_s`` ago."""
    path = folder / name
    path.write_bytes(b"half an image")
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


def test_a_write_removes_its_destinations_abandoned_partials_only(tmp_path: Path, caplog) -> None:
    """A SIGKILL or power cut during a write left ``.<name>.partial-*`` beside the output for
    good; the next write of that output removes those untouched for an hour, and no other."""
    killed = _partial(tmp_path, ".case_omnet.partial-k1ll3d_x.nii.gz", age_s=3 * 3600)
    in_progress = _partial(tmp_path, ".case_omnet.partial-runn1ng_.nii.gz", age_s=60)
    others = [_partial(tmp_path, ".case_omnet.partial-0th3rfmt.nrrd", age_s=3 * 3600),
              _partial(tmp_path, ".case.partial-n0tth1s1.nii.gz", age_s=3 * 3600),
              _partial(tmp_path, ".report.partial-n0tth1s1.json", age_s=3 * 3600)]
    (tmp_path / ".case_omnet.partial-afold3r_.nii.gz").mkdir()  # not a file we write
    image = sitk.Image(4, 4, 4, sitk.sitkUInt8)
    with caplog.at_level(logging.INFO, logger="omnet.utils.atomic"):
        write_image(image, tmp_path / "case_omnet.nii.gz")
    assert not killed.exists()
    assert in_progress.exists() and all(path.exists() for path in others)
    assert (tmp_path / ".case_omnet.partial-afold3r_.nii.gz").is_dir()
    assert sitk.ReadImage(str(tmp_path / "case_omnet.nii.gz")).GetSize() == (4, 4, 4)
    assert [r.getMessage() for r in caplog.records] == [
        f"removed {killed}, left 3.0 h ago by a write to case_omnet.nii.gz that did not finish"]


def test_the_report_write_removes_its_abandoned_partial(tmp_path: Path) -> None:
    killed = _partial(tmp_path, ".report.partial-k1ll3d_x.json", age_s=2 * 3600)
    atomic_write_json(tmp_path / "report.json", {"case": "a"})
    assert sorted(os.listdir(tmp_path)) == ["report.json"] and not killed.exists()


def _old_folder(parent: Path, name: str, age_s: float) -> Path:
    folder = parent / name
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"half")
    past = time.time() - age_s
    os.utime(folder / "model.safetensors", (past, past))
    os.utime(folder, (past, past))
    return folder


def test_a_folder_write_removes_its_destinations_abandoned_partial_folders_only(
        tmp_path: Path) -> None:
    """A killed make_ensemble left ``.<out>.partial-*`` folders for good; the next write of
    that destination removes those untouched for an hour, and no other."""
    killed = _old_folder(tmp_path, ".ensemble.partial-k1ll3d_x", 3 * 3600)
    in_progress = _old_folder(tmp_path, ".ensemble.partial-runn1ng_", 60)
    other = _old_folder(tmp_path, ".other.partial-k1ll3d_x", 3 * 3600)
    with atomic_folder(tmp_path / "ensemble") as folder:
        (folder / "split.json").write_text("{}")
    assert not killed.exists()
    assert in_progress.is_dir() and other.is_dir()
    assert (tmp_path / "ensemble" / "split.json").read_text() == "{}"


def test_a_header_and_data_write_removes_its_abandoned_partial_folder(tmp_path: Path) -> None:
    killed = _old_folder(tmp_path, ".labels.partial-k1ll3d_x", 3 * 3600)
    write_image(sitk.Image(4, 4, 4, sitk.sitkUInt8), tmp_path / "labels.mhd")
    assert sorted(os.listdir(tmp_path)) == ["labels.mhd", "labels.zraw"]
    assert not killed.exists()


def test_a_partial_folder_whose_file_is_still_being_written_stays(tmp_path: Path) -> None:
    """A folder's own time is that of its last new entry: a model written into it for over
    an hour is a write in progress, which another run of the same destination leaves."""
    writing = _old_folder(tmp_path, ".ensemble.partial-wr1t1ng_", 2 * 3600)
    os.utime(writing / "model.safetensors")  # written to a moment ago
    with atomic_folder(tmp_path / "ensemble") as folder:
        (folder / "split.json").write_text("{}")
    assert (writing / "model.safetensors").read_bytes() == b"half"
