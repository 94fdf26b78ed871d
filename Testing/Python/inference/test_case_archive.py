"""A case given as a zip archive (a PACS export, a download) is unpacked and segmented."""

from __future__ import annotations

import shutil
import zipfile

import numpy as np
import pytest
import SimpleITK as sitk

from omnet.errors import InputError
from omnet.inference.sources import case_input


def _labels(path) -> np.ndarray:
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path)))


def test_a_zipped_case_folder_segments_like_the_folder(phantom_case, tiny_model_file,
                                                       tmp_path):
    from omnet.inference.pipeline import segment

    folder = phantom_case(shape=(16, 24, 24), name="z1")
    archive = shutil.make_archive(str(tmp_path / "export"), "zip", tmp_path, "z1")
    segment(folder, tmp_path / "folder.nii.gz", model=tiny_model_file, device="cpu")
    result = segment(archive, tmp_path / "zip.nii.gz", model=tiny_model_file, device="cpu")
    assert result.report["case"] == "export"
    np.testing.assert_array_equal(_labels(tmp_path / "zip.nii.gz"),
                                  _labels(tmp_path / "folder.nii.gz"))


def test_a_zip_of_loose_files_is_one_case(phantom_case, tmp_path):
    folder = phantom_case(shape=(16, 24, 24), name="z2")
    with zipfile.ZipFile(tmp_path / "loose.zip", "w") as archive:
        for file in folder.iterdir():
            archive.write(file, file.name)
    case = case_input(tmp_path / "loose.zip")
    assert case.case_id == "loose"
    assert sorted(p.name for p in case.sequences().values()) == sorted(
        p.name for p in folder.iterdir())


@pytest.mark.parametrize("content, words", [
    ({"notes.txt": "hello"}, "no.zip: no FLAIR, no T1, no T1c"),
    (None, "cannot unpack bad.zip"),
])
def test_a_zip_without_a_case_says_so_in_one_line(tmp_path, content, words):
    name = "no.zip" if content else "bad.zip"
    if content:
        with zipfile.ZipFile(tmp_path / name, "w") as archive:
            for member, text in content.items():
                archive.writestr(member, text)
    else:
        with zipfile.ZipFile(tmp_path / name, "w") as archive:
            archive.writestr("a_flair.nii.gz", b"x" * 4000)
        data = (tmp_path / name).read_bytes()
        (tmp_path / name).write_bytes(data[:60] + data[-22:])  # the members cut out
    with pytest.raises(InputError) as error:
        case_input(tmp_path / name)
    assert words in str(error.value)
    assert "\n" not in str(error.value)


def test_a_batch_folder_of_zipped_cases(capsys, phantom_case, tiny_model_file, tmp_path):
    from omnet.cli import main

    cases = tmp_path / "cases"
    folder = phantom_case(shape=(16, 24, 24), name="p1", root=tmp_path / "staging")
    cases.mkdir()
    shutil.make_archive(str(cases / "p1"), "zip", folder.parent, "p1")
    phantom_case(shape=(16, 24, 24), name="p2", root=cases)
    code = main(["segment", "--input-dir", str(cases), "--output-dir", str(tmp_path / "out"),
                 "--model", str(tiny_model_file), "--device", "cpu", "--progress-format",
                 "none"])
    assert code == 0, capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["p1.nii.gz", "p2.nii.gz"]


def test_a_zipped_case_is_removed_from_disk_once_read(phantom_case, tiny_model, tmp_path,
                                                      monkeypatch):
    import tempfile

    from omnet.inference.pipeline import segment

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    phantom_case(shape=(16, 24, 24), name="z3")
    archive = shutil.make_archive(str(tmp_path / "many"), "zip", tmp_path, "z3")
    for _ in range(2):   # a loop over zipped cases keeps none of them unpacked
        result = segment(archive, None, model=tiny_model, device="cpu")
        assert result.report["case"] == "many"
        assert list(scratch.iterdir()) == []
