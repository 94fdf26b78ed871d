"""Which cases a batch folder holds (:func:`omnet.inference.batch.find_batch_cases`); file
names only, no image is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnet.data.discovery import find_case_files
from omnet.errors import InputError
from omnet.inference.batch import find_batch_cases, segment_folder


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


def test_a_case_folder_named_like_a_sequence_given_as_the_batch_folder_is_one_case(tmp_path):
    """``--input-dir subject_t1``: its files start with the case id, whose ``t1`` is no T1."""
    case = _case(tmp_path / "subject_t1")
    cases = find_batch_cases(case, tmp_path / "out")
    assert [(c.case_id, c.source) for c in cases] == [("subject_t1", case)]


def _channels(folder: Path, stem: str, count: int) -> None:
    _touch(folder, *(f"{stem}_{channel:04d}.nii.gz" for channel in range(count)))


def test_a_channel_group_missing_a_channel_is_a_failed_case(tmp_path):
    """imagesTs/ with BRATS_002_0003 missing: reported, not passed over (exit status 1)."""
    images = tmp_path / "imagesTs"
    _channels(images, "BRATS_001", 4)
    _channels(images, "BRATS_002", 3)
    segmented = []

    def segment(source, output, **options):
        segmented.append(source.case_id)
        return type("Result", (), {"report": {}})()

    summary = segment_folder(images, tmp_path / "out", segment=segment)
    assert segmented == ["BRATS_001"]
    assert [c.case_id for c in summary.failed] == ["BRATS_002"]
    assert summary.failed[0].error == ("no channel 0003 (T2) among "
                                       "BRATS_002_0000.nii.gz, BRATS_002_0001.nii.gz, "
                                       "BRATS_002_0002.nii.gz")
    assert summary.line() == "1 segmented, 0 skipped (output exists), 1 failed"


@pytest.mark.parametrize("other", ["X.zip", "X.nii.gz", "X.nrrd"])
def test_two_cases_with_one_output_are_refused_naming_both(tmp_path, other):
    """Folder ``X/`` beside ``X.zip`` (two patients) would both write ``X.nii.gz``."""
    _case(tmp_path / "cases" / "X")
    _touch(tmp_path / "cases", other)
    with pytest.raises(InputError, match=rf"^X/ and {other} are both case X \(output "):
        find_batch_cases(tmp_path / "cases", tmp_path / "out")


def test_case_folders_differing_only_in_letter_case_are_refused_naming_both(tmp_path):
    """``Case1/`` and ``case1/`` write ``Case1.nii.gz`` and ``case1.nii.gz``: one file on
    macOS and Windows, so the second would be skipped as done (or overwrite the first)."""
    _case(tmp_path / "cases" / "Case1")
    _case(tmp_path / "cases" / "case1")
    _case(tmp_path / "cases" / "other")
    with pytest.raises(InputError, match=r"^Case1/ and case1/ differ only in letter case"):
        find_batch_cases(tmp_path / "cases", tmp_path / "out")


def test_channel_stems_differing_only_in_letter_case_are_refused(tmp_path):
    images = tmp_path / "imagesTs"
    _channels(images, "BRATS_001", 4)
    _channels(images, "brats_001", 4)
    with pytest.raises(InputError, match=r"^BRATS_001 and brats_001 differ only in letter"):
        find_batch_cases(images, tmp_path / "out")


def test_a_stopped_batch_returns_what_it_did_and_marks_the_rest_not_run(tmp_path):
    """A stop during case b: a stays segmented, b and c are "not run", and the last summary
    given to ``on_case`` says so (the CLI writes its report from it)."""
    from omnet.errors import Cancelled

    for name in ("a", "b", "c"):
        _case(tmp_path / "cases" / name)
    seen = []

    def segment(source, output, **options):
        if Path(source).name == "b":
            raise Cancelled("stopped by request")
        return type("Result", (), {"report": {"case": Path(source).name}})()

    summary = segment_folder(tmp_path / "cases", tmp_path / "out", segment=segment,
                             on_case=lambda s: seen.append([c.status for c in s.cases]))
    assert summary.stopped
    assert [c.status for c in summary.cases] == ["segmented", "not run", "not run"]
    assert seen == [["segmented", "pending", "pending"],
                    ["segmented", "not run", "not run"]]
    assert summary.line() == ("1 segmented, 0 skipped (output exists), 0 failed, "
                              "2 not run (stopped)")
    report = summary.to_dict()
    assert (report["segmented"], report["not_run"], report["stopped"]) == (1, 2, True)
    assert report["reports"] == {"a": {"case": "a"}}


def test_each_case_logs_its_place_outcome_and_the_time_left(tmp_path, monkeypatch, caplog):
    """Cases taking 10, 20 and 30 s, one skipped: the time left is the mean so far times the
    cases still to segment (2 x 10 s, then 1 x 15 s)."""
    import logging

    for name in ("a", "b", "c", "d"):
        _case(tmp_path / "cases" / name)
    _touch(tmp_path / "out", "c.nii.gz")
    monkeypatch.setattr("omnet.inference.batch._clock", iter([0, 10, 10, 30, 30, 60]).__next__)

    def segment(source, output, **options):
        return type("Result", (), {"report": {}})()

    with caplog.at_level(logging.INFO, logger="omnet.inference.batch"):
        segment_folder(tmp_path / "cases", tmp_path / "out", segment=segment)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("[")]
    assert lines == [
        "[1/4] a: segmented in 10.0 s; 2 to segment, about 20 s left",
        "[2/4] b: segmented in 20.0 s; 1 to segment, about 15 s left",
        f"[3/4] c: {tmp_path / 'out' / 'c.nii.gz'} exists, skipped; 1 to segment, "
        "about 15 s left",
        "[4/4] d: segmented in 30.0 s"]


def test_a_case_whose_preparation_warns_says_so_on_its_line_and_in_the_report(tmp_path,
                                                                            caplog):
    import logging

    for name in ("a", "b"):
        _case(tmp_path / "cases" / name)
    strip = {"step": "skull strip", "outline_dice": {"flair": 0.92, "t1": 1.0, "t2": 1.0},
             "other_patient_suspected": ["flair"]}

    def segment(source, output, **options):
        steps = [strip] if Path(source).name == "b" else []
        return type("Result", (), {"report": {"preparation": {"steps": steps}}})()

    with caplog.at_level(logging.INFO, logger="omnet.inference.batch"):
        summary = segment_folder(tmp_path / "cases", tmp_path / "out", segment=segment)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("[")]
    assert lines[1].startswith("[2/2] b: segmented in ")
    assert lines[1].endswith(" s; check that every series is this patient's: brain outline "
                             "unlike the reference's in FLAIR (Dice 0.92)")
    assert "check" not in lines[0]
    cases = {entry["case"]: entry for entry in summary.to_dict()["cases"]}
    assert cases["a"]["warnings"] == []
    assert cases["b"]["warnings"] == [lines[1].split("; ", 1)[1]]


@pytest.mark.parametrize("seconds, text", [(44.6, "45 s"), (425, "7 min 05 s"),
                                           (7380, "2 h 03 min"), (3599.6, "1 h 00 min"),
                                           (None, ""), (float("nan"), ""), (-3.0, "")])
def test_durations_read_as_people_write_them(seconds, text):
    """No estimate yet (None, NaN, a negative time: the Slicer panels pass what they have)
    reads as nothing."""
    from omnet.inference.batch_progress import format_duration

    assert format_duration(seconds) == text


def test_folders_that_archivers_and_operating_systems_leave_are_not_cases(tmp_path):
    """A macOS zip unpacked with ``unzip`` leaves ``__MACOSX/`` (AppleDouble ``._`` files);
    a Windows or USB drive's root holds ``$RECYCLE.BIN/`` and ``System Volume Information/``.
    None is a case (each would be a failed one, exit status 1)."""
    cases = tmp_path / "cases"
    _case(cases / "a")
    _touch(cases / "__MACOSX" / "a", "._a_flair.nii.gz", "._a_t1.nii.gz")
    _touch(cases / "$RECYCLE.BIN", "desktop.ini")
    _touch(cases / "System Volume Information", "IndexerVolumeGuid")
    _touch(cases, ".DS_Store", "Thumbs.db", "._a")
    assert [c.case_id for c in find_batch_cases(cases, tmp_path / "out")] == ["a"]


def test_a_failed_case_names_itself_once(tmp_path):
    """The case's own error starts "b: ..." (it names its folder); the batch's record and
    lines name the case already, so the error is kept without that prefix."""
    from omnet.errors import InputError as CaseError

    for name in ("a", "b"):
        _case(tmp_path / "cases" / name)

    def segment(source, output, **options):
        name = Path(source).name
        if name == "b":
            raise CaseError("b: no T2 found among b_flair.nii.gz")
        return type("Result", (), {"report": {}})()

    summary = segment_folder(tmp_path / "cases", tmp_path / "out", segment=segment)
    assert [c.error for c in summary.failed] == ["no T2 found among b_flair.nii.gz"]


def test_a_skipped_case_without_an_asked_side_output_says_so(tmp_path, caplog):
    """A batch run again with --probabilities skips a finished case (its label map exists)
    and warns that its probability maps are not there; one that has them is not named."""
    import logging

    for name in ("a", "b"):
        _case(tmp_path / "cases" / name)
    _touch(tmp_path / "out", "a.nii.gz", "b.nii.gz")
    (tmp_path / "prob" / "b").mkdir(parents=True)

    def segment(source, output, **options):
        raise AssertionError("a finished case was segmented again")

    with caplog.at_level(logging.WARNING, logger="omnet.inference.batch"):
        summary = segment_folder(tmp_path / "cases", tmp_path / "out", segment=segment,
                                 probabilities_dir=tmp_path / "prob")
    assert [c.status for c in summary.cases] == ["skipped", "skipped"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["a: skipped (its label map exists) without the probability maps asked "
                        "for; add --overwrite to segment it again"]


def test_channel_files_take_their_sequences_from_the_dataset_json_above(tmp_path):
    """nnU-Net's own BraTS conversion (Dataset137) stores T1, T1ce, T2, FLAIR as channels 0-3;
    its dataset.json beside imagesTs/ says so, and the files are read that way (FLAIR is
    _0003), not in the MSD order."""
    import json

    dataset = tmp_path / "Dataset137_BraTS2021"
    _channels(dataset / "imagesTs", "BraTS2021_00000", 4)
    (dataset / "dataset.json").write_text(json.dumps({
        "channel_names": {"0": "T1", "1": "T1ce", "2": "T2", "3": "Flair"},
        "labels": {"background": 0, "whole tumor": [1, 2, 3], "tumor core": [2, 3],
                   "enhancing tumor": 3}, "regions_class_order": [1, 2, 3]}))
    seen = []

    def segment(source, output, **options):
        seen.append({role: path.name for role, path in source.sequences().items()})
        return type("Result", (), {"report": {}})()

    segment_folder(dataset / "imagesTs", tmp_path / "out", segment=segment)
    assert seen == [{"flair": "BraTS2021_00000_0003.nii.gz", "t1": "BraTS2021_00000_0000.nii.gz",
                     "t1ce": "BraTS2021_00000_0001.nii.gz", "t2": "BraTS2021_00000_0002.nii.gz"}]


def test_another_tasks_dataset_json_above_case_folders_is_not_read(tmp_path):
    """A folder of case folders inside a one-channel (CT) nnU-Net dataset: the channel names
    are for channel files only, so they neither refuse nor reorder these cases."""
    dataset = tmp_path / "Dataset001_Liver"
    _case(dataset / "imagesTs" / "a")
    (dataset / "dataset.json").write_text('{"channel_names": {"0": "CT"}, '
                                          '"labels": {"background": 0, "liver": 1}}')
    cases = find_batch_cases(dataset / "imagesTs", tmp_path / "out")
    assert [(c.case_id, c.source) for c in cases] == [("a", dataset / "imagesTs" / "a")]


def _recording_segment(calls: list):
    def segment(source, output, **options):
        calls.append((Path(output).name, options["brain_mask"].name))
        return type("Result", (), {"report": {}})()

    return segment


@pytest.mark.parametrize("masks", ["out", "cases"])
def test_brain_masks_are_named_as_masks_and_may_share_a_folder(tmp_path, masks):
    """``--brain-mask DIR`` writes ``<case>_brain_mask.nii.gz``: beside the label maps (the
    output folder itself was refused, both being ``<case>.nii.gz``), or in the folder of 4D
    images ``X.nii.gz`` (the mask was written over case X's scans)."""
    _case(tmp_path / "cases" / "a")
    _touch(tmp_path / "cases", "b.nii.gz")
    calls: list = []
    segment_folder(tmp_path / "cases", tmp_path / "out", segment=_recording_segment(calls),
                   brain_mask_dir=tmp_path / masks)
    assert calls == [("a.nii.gz", "a_brain_mask.nii.gz"), ("b.nii.gz", "b_brain_mask.nii.gz")]


def test_brain_masks_left_in_the_input_folder_are_not_cases(tmp_path):
    _case(tmp_path / "cases" / "a")
    _touch(tmp_path / "cases", "a_brain_mask.nii.gz", "b.nii.gz")
    assert [c.case_id for c in find_batch_cases(tmp_path / "cases", tmp_path / "out")] == \
        ["a", "b"]


def test_label_maps_written_over_the_cases_4d_images_are_refused_before_any_case(tmp_path):
    """``--output-dir`` = a folder of 4D images: case X's label map is ``X.nii.gz``, its own
    input (it was skipped as done, and with ``--overwrite`` its scans were replaced)."""
    _touch(tmp_path / "cases", "a.nii.gz", "b.nii.gz")
    calls: list = []
    with pytest.raises(InputError, match=r"^the label map of case a would be written over "
                                         r".*a\.nii\.gz, an input of case a: write the batch's "
                                         r"outputs to another folder$"):
        segment_folder(tmp_path / "cases", tmp_path / "cases", overwrite=True,
                       segment=_recording_segment(calls))
    assert calls == []


def test_a_brain_mask_that_is_another_cases_label_map_is_refused_before_any_case(tmp_path):
    for name in ("a", "a_brain_mask"):
        _case(tmp_path / "cases" / name)
    calls: list = []
    with pytest.raises(InputError, match=r"^the brain mask of case a and the label map of "
                                         r"case a_brain_mask are both .*a_brain_mask\.nii\.gz"):
        segment_folder(tmp_path / "cases", tmp_path / "out", segment=_recording_segment(calls),
                       brain_mask_dir=tmp_path / "out")
    assert calls == []


@pytest.mark.parametrize("layout, option", [("folders", "probabilities_dir"),
                                            ("folders", "attention_dir"),
                                            ("4d", "probabilities_dir")])
def test_maps_written_into_the_input_folder_are_refused_before_any_case(tmp_path, layout,
                                                                       option):
    """``--probabilities cases/`` wrote ``cases/a/task1_*.nii.gz`` among case a's scans, and
    beside 4D images made a folder ``a/`` that the next run took for a second case a."""
    if layout == "folders":
        _case(tmp_path / "cases" / "a")
    else:
        _touch(tmp_path / "cases", "a.nii.gz")
    calls: list = []
    with pytest.raises(InputError, match=r"^the (probabilities|attention) folder .*cases "
                                         r"holds the cases' own files: give the maps a folder "
                                         r"of their own$"):
        segment_folder(tmp_path / "cases", tmp_path / "out", segment=_recording_segment(calls),
                       **{option: tmp_path / "cases"})
    assert calls == []


def test_maps_of_a_case_given_as_the_batch_folder_are_not_written_into_it(tmp_path):
    """``--input-dir cases/a --probabilities cases``: the maps' ``cases/a/`` is the case."""
    _case(tmp_path / "cases" / "a")
    with pytest.raises(InputError, match=r"^the probabilities folder .*cases would put the "
                                         r"maps of case a among the cases' own files in "
                                         r".*cases/a: give the maps a folder of their own$"):
        segment_folder(tmp_path / "cases" / "a", tmp_path / "out",
                       segment=_recording_segment([]), probabilities_dir=tmp_path / "cases")


def test_an_output_folder_named_in_other_letter_case_is_not_a_case(tmp_path):
    """``--output-dir cases/Out`` where ``cases/out/`` holds the last run's label maps: one
    folder on macOS and Windows, so it is the batch's own and not a case that fails."""
    _case(tmp_path / "cases" / "a")
    _omnet_label_map(tmp_path / "cases" / "out" / "a.nii.gz")
    assert [c.case_id for c in find_batch_cases(tmp_path / "cases", tmp_path / "cases" / "Out")] \
        == ["a"]


def test_brain_masks_beside_label_maps_named_in_other_letter_case_are_taken(tmp_path):
    """``--output-dir out --brain-mask OUT``: the masks beside the label maps, as asked (one
    folder on macOS and Windows), not two outputs refused as one folder."""
    _case(tmp_path / "cases" / "a")
    calls: list = []
    segment_folder(tmp_path / "cases", tmp_path / "out", segment=_recording_segment(calls),
                   brain_mask_dir=tmp_path / "OUT")
    assert calls == [("a.nii.gz", "a_brain_mask.nii.gz")]


def _writing_segment(segmented: list):
    """A stand-in for omnet.segment that writes a label map as it does: described in its
    header."""
    import numpy as np
    import SimpleITK as sitk

    from omnet.inference.outputs import label_description, write_image
    from omnet.labels import BRATS2018

    def segment(source, output, **options):
        segmented.append(Path(source).name)
        image = sitk.GetImageFromArray(np.zeros((2, 3, 4), dtype=np.uint8))
        write_image(image, output, label_description(BRATS2018))
        return type("Result", (), {"report": {}})()

    return segment


@pytest.mark.parametrize("again", ["same folder", "a folder of its own"])
def test_label_maps_a_batch_wrote_among_its_cases_are_not_cases_next_time(tmp_path, caplog,
                                                                         again):
    """``--output-dir cases --input-dir cases`` leaves ``cases/a.nii.gz`` beside ``cases/a/``;
    run again with a case added (or into ``cases/omnet``), ``a.nii.gz`` was a second case a
    and the batch was refused. Its header says omnet segment wrote it: not a case."""
    import logging

    cases = tmp_path / "cases"
    _case(cases / "a")
    segmented: list = []
    segment_folder(cases, cases, segment=_writing_segment(segmented))
    _case(cases / "b")
    out = cases if again == "same folder" else cases / "omnet"
    with caplog.at_level(logging.INFO, logger="omnet.inference.batch"):
        summary = segment_folder(cases, out, segment=_writing_segment(segmented))
    assert [(c.case_id, c.source.name) for c in summary.cases] == [("a", "a"), ("b", "b")]
    if again == "same folder":
        assert [c.status for c in summary.cases] == ["skipped", "segmented"]
        assert segmented == ["a", "b"]
    else:
        assert segmented == ["a", "a", "b"]
    assert f"{cases}: a.nii.gz written by omnet segment (the header says so), not cases" in \
        [r.getMessage() for r in caplog.records]


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_case_given_as_the_batch_folder_is_not_written_over_before_any_case(tmp_path,
                                                                            overwrite):
    """``--input-dir P01 --output-dir P01`` where ``P01/P01.nii.gz`` is another tool's
    label map: it was taken for the batch's output (case skipped as done) or, with
    ``--overwrite``, replaced; the folder's files were listed only when it was segmented."""
    case = _case(tmp_path / "P01")
    _touch(case, "P01.nii.gz")
    calls: list = []
    with pytest.raises(InputError, match=r"^the label map of case P01 would be written over "
                                         r".*P01\.nii\.gz, an input of case P01: write the "
                                         r"batch's outputs to another folder$"):
        segment_folder(case, case, segment=_recording_segment(calls), overwrite=overwrite)
    assert calls == []


def test_a_case_given_as_the_batch_folder_and_written_into_runs_again(tmp_path):
    """Its own label map, ``P01/P01.nii.gz``, is the batch's output, not one of its files."""
    case = _case(tmp_path / "P01")
    segmented: list = []
    segment_folder(case, case, segment=_writing_segment(segmented))
    summary = segment_folder(case, case, segment=_writing_segment(segmented))
    assert [c.status for c in summary.cases] == ["skipped"]
    assert segmented == ["P01"]


def _described_image(path: Path, description: str) -> Path:
    """A small image whose header (NIfTI description) holds ``description``."""
    import numpy as np
    import SimpleITK as sitk

    from omnet.inference.outputs import write_image

    path.parent.mkdir(parents=True, exist_ok=True)
    return write_image(sitk.GetImageFromArray(np.zeros((2, 3, 4), dtype=np.uint8)), path,
                       description)


def _omnet_label_map(path: Path) -> Path:
    return _described_image(path, "OMNet tumour labels (brats2018): 1 necrotic, 2 edema, "
                                  "4 enhancing")


@pytest.mark.parametrize("option, what", [("output_dir", "output"),
                                          ("brain_mask_dir", "brain mask"),
                                          ("probabilities_dir", "probabilities"),
                                          ("attention_dir", "attention")])
def test_a_case_folder_given_as_an_output_folder_is_refused_before_any_case(tmp_path, option,
                                                                           what):
    """``--output-dir cases/a`` (or a maps' or masks' folder there): case a was left out
    without a word and the other cases' outputs were written among its scans."""
    cases = tmp_path / "cases"
    for name in ("a", "b", "c"):
        _case(cases / name)
    folders = {"output_dir": tmp_path / "out", option: cases / "a"}
    output = folders.pop("output_dir")
    calls: list = []
    with pytest.raises(InputError, match=rf"^the {what} folder .*cases/a is the folder of case a "
                                         r"\(it holds a_flair\.nii\.gz\): the batch would leave "
                                         r"that case out and write among its files; give the "
                                         r"outputs a folder of their own, such as "
                                         r".*cases/omnet$"):
        segment_folder(cases, output, segment=_recording_segment(calls), **folders)
    assert calls == []
    assert sorted(p.name for p in (cases / "a").iterdir()) == [
        "a_flair.nii.gz", "a_t1.nii.gz", "a_t1ce.nii.gz", "a_t2.nii.gz"]


def test_a_dicom_case_folder_given_as_the_output_folder_is_refused(tmp_path):
    """A case exported from a PACS: series folders of DICOM files without a suffix."""
    cases = tmp_path / "cases"
    _case(cases / "b")
    series = cases / "a" / "SE000001"
    series.mkdir(parents=True)
    (series / "IM000001").write_bytes(b"\0" * 128 + b"DICM")
    with pytest.raises(InputError, match=r"is the folder of case a \(it holds "
                                         r"SE000001/IM000001\)"):
        find_batch_cases(cases, cases / "a")


@pytest.mark.parametrize("held", ["nothing", "omnet outputs"])
def test_an_output_folder_inside_the_input_folder_is_not_a_case(tmp_path, held):
    """A fresh or empty one, or one a batch wrote into (label maps and brain masks, map
    folders per case, the report): the README's ``--output-dir cases/omnet``."""
    cases = tmp_path / "cases"
    _case(cases / "a")
    out = cases / "omnet"
    out.mkdir()
    if held == "omnet outputs":
        _omnet_label_map(out / "a.nii.gz")
        _touch(out, "a_brain_mask.nii.gz", "batch.json", ".b.nii.gz.partial-x1")
        _described_image(out / "maps" / "a" / "task1_edema.nii.gz",
                         "OMNet probability: task1_edema")
        _described_image(out / "maps" / "a" / "cga_core_pt.nii.gz",
                         "OMNet attention map: cga_core_pt")
    maps = {"the probabilities folder": out / "maps"}
    assert [c.case_id for c in find_batch_cases(cases, out, maps)] == ["a"]


def test_a_label_map_corrected_and_saved_again_keeps_its_folder_an_output(tmp_path):
    """A map of ``cases/omnet`` corrected in Slicer and saved again has lost OMNet's header
    text; named as the batch names case a's label map, the folder is still the outputs',
    and the next run with the same command was refused as "the folder of case omnet"."""
    cases = tmp_path / "cases"
    _case(cases / "a")
    _case(cases / "b")
    out = cases / "omnet"
    _described_image(out / "a.nii.gz", "")
    assert [c.case_id for c in find_batch_cases(cases, out)] == ["a", "b"]
    _described_image(out / "scan.nii.gz", "")
    with pytest.raises(InputError, match=r"is the folder of case omnet \(it holds scan\.nii\.gz"
                                         r"\).* such as .*cases/omnet-2$"):
        find_batch_cases(cases, out)


def test_an_earlier_runs_output_folder_is_not_a_case_of_the_next(tmp_path, caplog):
    """``--output-dir cases/omnet`` once, ``--output-dir elsewhere`` the next time: the old
    output folder was taken for case "omnet", which then failed."""
    cases = tmp_path / "cases"
    _case(cases / "a")
    _case(cases / "b")
    _omnet_label_map(cases / "omnet" / "a.nii.gz")
    _described_image(cases / "omnet" / "b.nii.gz", "")
    _described_image(cases / "omnet" / "maps" / "a" / "task1_edema.nii.gz",
                     "OMNet probability: task1_edema")
    _touch(cases / "omnet", "batch.json")
    with caplog.at_level("INFO", logger="omnet.inference.batch"):
        found = find_batch_cases(cases, tmp_path / "elsewhere")
    assert [c.case_id for c in found] == ["a", "b"]
    assert "omnet/ holds only what omnet segment wrote" in caplog.text
    _described_image(cases / "omnet" / "scan_t1ce.nii.gz", "")
    assert [c.case_id for c in find_batch_cases(cases, tmp_path / "elsewhere")] == [
        "a", "b", "omnet"]


@pytest.mark.parametrize("description, a_case", [
    ("OMNet tumour labels (brats2018): 1 necrotic, 2 edema, 4 enhancing", False),
    ("OMNet tumour labels (msd): 2 necrotic, 1 edema, 3 enhancing", False),
    ("OMNet brain mask: 1 brain, 0 outside", False),
    ("OMNet uncertainty: share of mirrored runs off their average's class, 0-1", False),
    ("OMNet probability: task3_enhancing", False),
    ("OMNet attention map: cga_tumour_bottom_channel", False),
    ("OMNet 4D export: flair, t1, t1ce, t2", True),
    ("OMNet probability: my own map", True)])
def test_only_what_omnet_segment_writes_in_a_header_marks_an_image_as_its_own(
        tmp_path, description, a_case):
    """An image whose header merely begins "OMNet " (another tool's, a user's) was left out
    of the cases without a word."""
    cases = tmp_path / "cases"
    _case(cases / "a")
    _described_image(cases / "x.nii.gz", description)
    expected = ["a", "x"] if a_case else ["a"]
    assert [c.case_id for c in find_batch_cases(cases, tmp_path / "out")] == expected


def test_brain_masks_in_a_folder_named_as_the_output_in_other_letter_case_are_checked_first(
        tmp_path):
    """``--output-dir out --brain-mask OUT``: two folders on Linux, and ``OUT`` a file was
    found only as each case failed (it was left out of the check before any case)."""
    _case(tmp_path / "cases" / "a")
    (tmp_path / "OUT").write_text("")
    calls: list = []
    with pytest.raises(InputError, match=r"folder .*OUT is a file, not a folder$"):
        segment_folder(tmp_path / "cases", tmp_path / "out", segment=_recording_segment(calls),
                       brain_mask_dir=tmp_path / "OUT")
    assert calls == []


def test_a_link_to_a_case_folder_given_as_the_batch_folder_is_one_case(tmp_path):
    """``--input-dir link`` (-> ``subject_t1``) is the one case, as the folder itself is."""
    case = _case(tmp_path / "subject_t1")
    link = tmp_path / "link"
    link.symlink_to(case, target_is_directory=True)
    cases = find_batch_cases(link, tmp_path / "out")
    assert [(c.case_id, c.source) for c in cases] == [("subject_t1", link)]
    assert find_case_files(cases[0].source).flair.name == "subject_t1_flair.nii.gz"
