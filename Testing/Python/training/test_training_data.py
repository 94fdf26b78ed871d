"""Dataset scan and problems, the pre-processing cache, the split, and --check."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import phantom_classes, write_case

from omnet.data.discovery import find_case_files
from omnet.errors import InputError
from omnet.training.cache import open_cached_case, prepare_case
from omnet.training.config import DataSettings
from omnet.training.dataset import check_dataset, format_check_table, prepare_dataset
from omnet.training.split import make_split


def test_cached_case_holds_cropped_normalised_arrays(synthetic_dataset, tmp_path):
    case = find_case_files(synthetic_dataset / "case03", need_seg=True)  # 2023 labels 1/2/3
    cached = prepare_case(case, tmp_path)
    arrays = open_cached_case(cached)
    expected = phantom_classes(centre=(13, 22, 18))
    box = tuple(slice(a, b) for a, b in cached.meta["bbox"])
    assert np.array_equal(np.asarray(arrays.classes), expected[box])  # enhancing 3 -> class 3
    assert cached.meta["label_scheme"] == "brats2023" and cached.meta["labels"] == [0, 1, 2, 3]
    assert arrays.images.dtype == np.float16 and isinstance(arrays.images, np.memmap)
    brain = np.asarray(arrays.classes) > 0
    for channel in np.asarray(arrays.images, dtype=np.float32):
        assert abs(channel[brain].mean()) < 1e-2 and abs(channel[brain].std() - 1) < 1e-2
        assert not channel[~brain].any()
    assert arrays.classes.shape == tuple(b - a for a, b in cached.meta["bbox"])


def _copy_case(synthetic_dataset, tmp_path, name="case01"):
    target = tmp_path / "data" / name
    shutil.copytree(synthetic_dataset / name, target)
    return find_case_files(target, need_seg=True)


def test_cache_is_reused_and_refreshed_without_rebuild(synthetic_dataset, tmp_path):
    case = _copy_case(synthetic_dataset, tmp_path)
    first = prepare_case(case, tmp_path / "cache")
    stamp = (first.folder / "images.npy").stat().st_mtime_ns
    again = prepare_case(case, tmp_path / "cache")
    assert (again.folder / "images.npy").stat().st_mtime_ns == stamp
    os.utime(case.t2, ns=(1, 1))  # same bytes, new mtime: record refreshed only
    touched = prepare_case(case, tmp_path / "cache")
    assert (touched.folder / "images.npy").stat().st_mtime_ns == stamp
    assert touched.meta["sources"][3]["mtime_ns"] == 1


def test_cache_is_rebuilt_when_a_source_changes(synthetic_dataset, tmp_path):
    case = _copy_case(synthetic_dataset, tmp_path)
    first = open_cached_case(prepare_case(case, tmp_path / "cache"))
    before = np.array(first.classes)
    shutil.copy(synthetic_dataset / "case02" / "case02_seg.nii.gz", case.seg)
    rebuilt = open_cached_case(prepare_case(case, tmp_path / "cache"))
    assert not np.array_equal(before, np.asarray(rebuilt.classes))
    assert len(list((tmp_path / "cache").iterdir())) == 1


def test_cache_is_reused_whatever_path_reaches_the_files(synthetic_dataset, tmp_path,
                                                          monkeypatch):
    """A relative path, an absolute one and two symlink folders are one cache entry, built
    once: the record compares resolved paths, as the entry's key does."""
    source = _copy_case(synthetic_dataset, tmp_path).seg.parent
    for folder in ("links_a", "links_b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "case01").symlink_to(source, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    first = prepare_case(find_case_files(source, need_seg=True), tmp_path / "cache")
    stamp = (first.folder / "images.npy").stat().st_mtime_ns
    for way in ("data/case01", "links_a/case01", tmp_path / "links_b" / "case01"):
        again = prepare_case(find_case_files(Path(way), need_seg=True), tmp_path / "cache")
        assert again.folder == first.folder
        assert (again.folder / "images.npy").stat().st_mtime_ns == stamp, way
    assert len(list((tmp_path / "cache").iterdir())) == 1


def test_cache_is_rebuilt_when_the_preprocessing_version_changes(synthetic_dataset, tmp_path):
    case = _copy_case(synthetic_dataset, tmp_path)
    cached = prepare_case(case, tmp_path / "cache")
    meta = json.loads((cached.folder / "meta.json").read_text())
    meta["version"] = -1
    (cached.folder / "meta.json").write_text(json.dumps(meta))
    (cached.folder / "images.npy").write_bytes(b"stale")
    again = open_cached_case(prepare_case(case, tmp_path / "cache"))
    assert again.images.shape[0] == 4


@pytest.fixture
def messy_dataset(synthetic_dataset, tmp_path):
    """Two good cases, one without its T2, one with labels that fit no scheme, one unreadable,
    one whose label map lies off its sequences' grid."""
    root = tmp_path / "messy"
    for name in ("case01", "case02"):
        shutil.copytree(synthetic_dataset / name, root / name)
    write_case(root, "no_t2", skip=("t2",))
    bad = write_case(root, "weird")
    shutil.copy(synthetic_dataset / "case01" / "case01_seg.nii.gz", bad / "weird_seg.nii.gz")
    import SimpleITK as sitk

    seg = sitk.ReadImage(str(bad / "weird_seg.nii.gz"))
    array = sitk.GetArrayFromImage(seg)
    array[array == 2] = 7
    sitk.WriteImage(sitk.GetImageFromArray(array), str(bad / "weird_seg.nii.gz"))
    broken = write_case(root, "broken")
    (broken / "broken_flair.nii.gz").write_bytes(b"not an image at all")
    shifted = write_case(root, "shifted")  # its label map's header moved by 8 mm
    seg = sitk.ReadImage(str(shifted / "shifted_seg.nii.gz"))
    seg.SetOrigin((8.0, 0.0, 0.0))
    sitk.WriteImage(seg, str(shifted / "shifted_seg.nii.gz"))
    return root


def test_problem_cases_are_reported_by_name_and_skipped(messy_dataset, tmp_path):
    prepared = prepare_dataset(messy_dataset, tmp_path / "cache")
    assert sorted(prepared.cases) == ["case01", "case02"]
    problems = dict(prepared.problems)
    assert set(problems) == {"no_t2", "weird", "broken", "shifted"}
    assert "T2" in problems["no_t2"] and "7" in problems["weird"]
    assert "broken_flair" in problems["broken"]
    assert "none of the sequences' grids (against the T1c's: origin 8 mm off)" in \
        problems["shifted"]


def test_a_label_map_on_another_grid_is_named_with_what_differs(synthetic_dataset, tmp_path):
    """A label map resampled to 2 mm and one whose header moved by a fraction of a voxel need
    different fixes: the reason says the size and spacing, or the origin's offset."""
    import SimpleITK as sitk

    root = tmp_path / "data"
    for name in ("case01", "case02"):
        shutil.copytree(synthetic_dataset / name, root / name)
    seg_path = root / "case01" / "case01_seg.nii.gz"
    seg = sitk.ReadImage(str(seg_path))
    coarse = sitk.Resample(seg, [s // 2 for s in seg.GetSize()], sitk.Transform(),
                           sitk.sitkNearestNeighbor, seg.GetOrigin(), (2.0, 2.0, 2.0),
                           seg.GetDirection(), 0, seg.GetPixelID())
    sitk.WriteImage(coarse, str(seg_path))
    seg_path = root / "case02" / "case02_seg.nii.gz"
    seg = sitk.ReadImage(str(seg_path))
    seg.SetOrigin((0.0, 0.3, 0.4))
    sitk.WriteImage(seg, str(seg_path))
    problems = {row.case: row.problem for row in check_dataset(root)}
    x, y, z = seg.GetSize()
    assert problems["case01"] == (
        f"the label map is on none of the sequences' grids (against the T1c's: size "
        f"{x // 2} x {y // 2} x {z // 2}, not {x} x {y} x {z}; spacing 2 x 2 x 2 mm, not "
        "1 x 1 x 1 mm); check its header")
    assert problems["case02"] == ("the label map is on none of the sequences' grids (against "
                                  "the T1c's: origin 0.5 mm off); check its header")


def test_strict_stops_before_training(messy_dataset, tmp_path):
    with pytest.raises(InputError, match="no_t2"):
        prepare_dataset(messy_dataset, tmp_path / "cache", strict=True)


def test_check_lists_every_case(messy_dataset):
    rows = {r.case: r for r in check_dataset(messy_dataset)}
    assert rows["case01"].ok and rows["case01"].labels == [0, 1, 2, 4]
    assert not rows["broken"].ok and rows["broken"].labels is None
    table = format_check_table(list(rows.values()))
    assert not rows["shifted"].ok and "2 of 6 cases usable" in table


def test_check_names_a_case_whose_flair_has_another_brain_outline(tmp_path, caplog):
    import logging

    import SimpleITK as sitk

    for case_id in ("case01", "case02"):
        write_case(tmp_path, case_id)
    flair = tmp_path / "case01" / "case01_flair.nii.gz"
    moved = np.roll(sitk.GetArrayFromImage(sitk.ReadImage(str(flair))), 4, axis=2)
    sitk.WriteImage(sitk.GetImageFromArray(moved), str(flair))  # another head's outline
    with caplog.at_level(logging.WARNING, logger="omnet.preparation.same_patient"):
        rows = {r.case: r for r in check_dataset(tmp_path)}
    assert rows["case01"].ok and rows["case01"].other_patient_suspected.startswith(
        "FLAIR (Dice 0.")
    assert rows["case02"].other_patient_suspected == ""
    lines = format_check_table(list(rows.values())).splitlines()
    assert "(brain outline unlike the T1c's: FLAIR (Dice 0." in lines[1]
    assert "outline" not in lines[2]
    assert "case01: FLAIR: its brain outline matches the T1c's at Dice" in caplog.text


def test_a_reused_cache_entry_repeats_its_other_patient_warning(tmp_path, caplog):
    """A second training run on the same cache reused the entry without a word: the
    researcher re-running training no longer saw that the FLAIR may be another patient's."""
    import logging

    import SimpleITK as sitk

    write_case(tmp_path / "data", "case01")
    flair = tmp_path / "data" / "case01" / "case01_flair.nii.gz"
    moved = np.roll(sitk.GetArrayFromImage(sitk.ReadImage(str(flair))), 4, axis=2)
    sitk.WriteImage(sitk.GetImageFromArray(moved), str(flair))  # another head's outline
    case = find_case_files(tmp_path / "data" / "case01", need_seg=True)
    with caplog.at_level(logging.WARNING):
        built = prepare_case(case, tmp_path / "cache")
        caplog.clear()
        reused = prepare_case(case, tmp_path / "cache")
    assert reused.folder == built.folder
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith(
        "case01: brain outline unlike the T1c's: FLAIR (Dice 0.")


def test_a_background_floor_is_not_taken_for_another_brain_outline(tmp_path):
    # a stripped T1c normalised to a floor of -500 (moved to zero before training, as by
    # omnet segment) was all tissue to the outline check: every series "unlike" it, Dice 0.6
    import SimpleITK as sitk

    write_case(tmp_path, "case01")
    t1ce = tmp_path / "case01" / "case01_t1ce.nii.gz"
    floored = sitk.GetArrayFromImage(sitk.ReadImage(str(t1ce))) - np.float32(500.0)
    sitk.WriteImage(sitk.GetImageFromArray(floored), str(t1ce))
    (row,) = check_dataset(tmp_path)
    assert row.ok and row.other_patient_suspected == ""


def test_split_is_seeded_and_complete():
    ids = [f"c{i:02d}" for i in range(20)]
    a = make_split(ids, DataSettings(val_fraction=0.2), seed=1)
    b = make_split(list(reversed(ids)), DataSettings(val_fraction=0.2), seed=1)
    c = make_split(ids, DataSettings(val_fraction=0.2), seed=2)
    assert a == b and a.validation != c.validation
    assert len(a.validation) == 4 and sorted(a.train + a.validation) == ids


def test_folds_partition_the_cases():
    ids = [f"c{i}" for i in range(10)]
    folds = [make_split(ids, DataSettings(folds=3, fold=k), seed=0).validation for k in range(3)]
    assert sorted(c for fold in folds for c in fold) == sorted(ids)
    assert [len(f) for f in folds] == [4, 3, 3]


def test_named_validation_cases():
    split = make_split(["a", "b", "c"], DataSettings(val_cases=["b"]), seed=0)
    assert split.validation == ["b"] and split.train == ["a", "c"]
    with pytest.raises(InputError, match="zz"):
        make_split(["a", "b"], DataSettings(val_cases=["zz"]), seed=0)


def test_damaged_cache_entry_is_rebuilt(synthetic_dataset, tmp_path):
    case = _copy_case(synthetic_dataset, tmp_path)
    cached = prepare_case(case, tmp_path / "cache")
    good = np.load(cached.folder / "classes.npy")
    (cached.folder / "classes.npy").write_bytes(b"\x93NUMPY truncated")
    again = open_cached_case(prepare_case(case, tmp_path / "cache"))
    assert np.array_equal(np.asarray(again.classes), good)


def test_check_counts_labels_beyond_the_scans_extent(tmp_path, capsys):
    """A T1c that stops 7 slices before its label map: the labels on those slices lie beyond
    the training grid (cut to the T1c's extent) and were silently lost; --check counts them."""
    import SimpleITK as sitk

    from omnet.cli import main

    case = write_case(tmp_path / "data", "case01", seed=1)
    t1ce = sitk.ReadImage(str(case / "case01_t1ce.nii.gz"))
    sitk.WriteImage(t1ce[:, :, :17], str(case / "case01_t1ce.nii.gz"))
    beyond = int(np.count_nonzero(phantom_classes()[17:] % 4))  # tumour labels, slices 17-23
    assert beyond > 0
    assert main(["train", str(tmp_path / "data"), "--check"]) == 0
    warnings = [ln for ln in capsys.readouterr().err.splitlines() if "labelled voxels" in ln]
    assert warnings == [f"WARNING omnet.training.cache: case01: {beyond} labelled voxels of the "
                        "label map lie beyond the scans or outside the brain's box and are "
                        "ignored"]
