"""Atomic writes: all or nothing, with the usual file permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

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
