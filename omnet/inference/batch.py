"""Segment every case of a folder: skip cases already done, report failures and go on."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omnet.data.bids import bids_anat_folders, bids_case_id
from omnet.data.discovery import (
    CaseFiles,
    channel_cases,
    dataset_description,
    is_dicom_file,
    is_image_path,
    is_system_entry,
    name_prefix,
)
from omnet.data.naming import (
    BRAIN_MASK_SUFFIX,
    IMAGE_SUFFIXES,
    ROLE_TITLES,
    SEQUENCE_ROLES,
    case_id_from_file,
    channel_groups,
    classify_name,
    incomplete_channel_groups,
    is_brain_mask,
    is_omnet_output,
    missing_channels,
    strip_image_suffix,
)
from omnet.errors import Cancelled, InputError, OMNetError
from omnet.inference.batch_history import EarlierCase
from omnet.inference.batch_progress import case_line, eta_seconds
from omnet.inference.outputs import (
    check_destinations,
    check_folder_destination,
    file_key,
    input_folders,
    written_by_omnet,
)
from omnet.inference.report import preparation_warnings

__all__ = ["BatchCase", "BatchSummary", "brain_mask_path", "find_batch_cases", "segment_folder"]

log = logging.getLogger(__name__)

_clock = time.perf_counter  # how long each case takes (a test gives its own)


@dataclass
class BatchCase:
    """One case of a batch and what became of it: pending, then segmented, skipped, failed,
    or "not run" when the batch was stopped before it finished."""

    case_id: str
    source: Path | CaseFiles  # a folder, 4D image or zip; or the files of a channel group
    output: Path
    status: str = "pending"
    error: str | None = None
    report: dict | None = None
    seconds: float | None = None  # how long segmenting it took
    #: the files a case folder holds, listed (no image read) where the batch folder is the
    #: case: outputs must not be written over them
    files: tuple[Path, ...] = ()

    def to_dict(self) -> dict:
        written = self.status in ("segmented", "skipped")  # a failed case wrote nothing
        source = self.source if isinstance(self.source, Path) else self.source.t1ce
        return {"case": self.case_id, "status": self.status,
                "source": str(source) if source is not None else None,
                "output": str(self.output) if written else None, "error": self.error,
                "seconds": self.seconds, "warnings": self.warnings}

    @property
    def warnings(self) -> list[str]:
        """What its preparation asks a person to check (another patient's series, ...)."""
        return preparation_warnings((self.report or {}).get("preparation") or {})


@dataclass
class BatchSummary:
    """The cases of a batch; ``stopped`` when a cancel request ended it early."""

    cases: list[BatchCase] = field(default_factory=list)
    stopped: bool = False

    def count(self, status: str) -> int:
        return sum(c.status == status for c in self.cases)

    @property
    def failed(self) -> list[BatchCase]:
        return [c for c in self.cases if c.status == "failed"]

    def line(self) -> str:
        not_run = self.count("not run") + self.count("pending")
        return (f"{self.count('segmented')} segmented, {self.count('skipped')} skipped "
                f"(output exists), {self.count('failed')} failed"
                + (f", {not_run} not run (stopped)" if self.stopped else ""))

    def to_dict(self) -> dict:
        """The batch report: one entry per case, the counts, and each segmented case's
        report (what ``--report`` holds, rewritten after every case)."""
        return {"cases": [c.to_dict() for c in self.cases],
                "segmented": self.count("segmented"), "skipped": self.count("skipped"),
                "failed": len(self.failed),
                "not_run": self.count("not run") + self.count("pending"),
                "stopped": self.stopped,
                "reports": {c.case_id: c.report for c in self.cases if c.report is not None}}


def _is_one_case(root: Path, entries: list[Path]) -> bool:
    """A folder's ``entries`` are one case's sequences, as when a case folder is given as
    the batch's: its images (or DICOM series folders) name at least two sequences, none twice,
    and every folder in it names one; the case id left out of the names as
    :func:`omnet.data.discovery.find_case_files` leaves it out (:func:`name_prefix`)."""
    images = [e for e in entries if e.is_dir() or is_image_path(e)]
    prefix = name_prefix(root, [e.name for e in images])
    roles = {e: classify_name(e.name, case_id=prefix) for e in images}
    if any(e.is_dir() and roles[e] not in SEQUENCE_ROLES for e in roles):
        return False
    sequences = [r for r in roles.values() if r in SEQUENCE_ROLES]
    return len(sequences) >= 2 and len(set(sequences)) == len(sequences)


def find_batch_cases(input_dir: str | os.PathLike, output_dir: str | os.PathLike,
                     other_outputs: Mapping[str, str | os.PathLike | None] | None = None,
                     brain_mask_dir: str | os.PathLike | None = None) -> list[BatchCase]:
    """Case folders of ``input_dir`` (and 4D image files or zipped case folders lying
    directly in it), by name; a folder holding one case's sequences itself is that one case;
    a BIDS dataset's cases are its ``anat`` folders, named ``sub-01[_ses-pre]``, and a
    folder of nnU-Net channel files (``<case>_0000`` .. ``_0003``) holds one case per stem
    (one missing a channel is listed as failed).
    The batch's own output folders (``output_dir``, ``other_outputs``: what -> folder),
    label maps ``omnet segment`` wrote (``*_omnet.nii.gz``) and brain masks
    (``*_brain_mask.nii.gz``) are never cases, so a batch written inside its input folder
    can be run again; an output folder that is a case's folder is refused
    (:func:`_check_no_case_folder_is_an_output`). Cases that would write one file twice, or
    over an input, are refused (:func:`_check_nothing_written_twice`, with the brain masks
    of ``brain_mask_dir``)."""
    root = Path(input_dir)
    if not root.is_dir():
        raise InputError(f"input folder not found: {root}")
    out = Path(output_dir)
    outputs = {"the output folder": out, **(other_outputs or {})}
    ours = {file_key(p) for p in outputs.values() if p is not None}
    listed = [e for e in sorted(root.iterdir()) if not is_system_entry(e.name)]
    entries = [e for e in listed if not is_omnet_output(e.name) and file_key(e) not in ours
               and not (e.is_file() and is_brain_mask(e.name))]
    entries = _without_omnet_outputs(root, entries)
    anat = [folder for folder in bids_anat_folders(root) if file_key(folder) not in ours]
    if anat:
        log.info("%s is a BIDS dataset: %d anat folders", root, len(anat))
        return _check_nothing_written_twice(
            [BatchCase(case_id, folder, out / f"{case_id}.nii.gz")
             for folder in anat if (case_id := bids_case_id(folder))], brain_mask_dir)
    images = [e.name for e in entries if e.is_file() and is_image_path(e)]
    if channel_groups(images):  # only channel files read a dataset.json (another task's,
        # above a folder of ordinary cases, says nothing of them)
        order = dataset_description(root, root.resolve().parent).channels
        channels = channel_cases(root, images, order)
        log.info("%s holds the channel files of %d cases (nnU-Net layout; channels %s)", root,
                 len(channels), ", ".join(f"{i}: {ROLE_TITLES[r]}" for i, r in enumerate(order)))
        return _check_nothing_written_twice(_channel_batch(root, channels, images, out, order),
                                            brain_mask_dir)
    if _is_one_case(root, entries):
        case_id = root.resolve().name
        log.info("%s holds one case's sequences, not case folders: segmenting it as one case",
                 root)
        files = tuple(e for e in entries if e.is_file() and is_image_path(e))
        return _check_nothing_written_twice(
            [BatchCase(case_id, root, out / f"{case_id}.nii.gz", files=files)], brain_mask_dir)
    _check_no_case_folder_is_an_output(root, listed, outputs)
    entries = _without_earlier_output_folders(root, listed, entries)
    cases = _check_nothing_written_twice(_entry_cases(entries, out), brain_mask_dir)
    if not cases:
        raise InputError(f"no case folders, 4D images or zipped cases in {root}")
    return cases


def _check_no_case_folder_is_an_output(root: Path, listed: list[Path],
                                       outputs: Mapping[str, str | os.PathLike | None]) -> None:
    """Refuse an output folder (what -> folder) that is one of ``root``'s case folders: one
    holding a file a case may read that ``omnet segment`` did not write. ``--output-dir
    cases/a`` left case a out without a word and wrote the other cases' label maps among its
    scans; a fresh or empty output folder, or one a batch wrote into, is no case."""
    folders = {file_key(entry): entry for entry in listed if entry.is_dir()}
    label_map_names = _label_map_names(listed)
    for what, folder in outputs.items():
        entry = folders.get(file_key(folder)) if folder is not None else None
        held = _first_input_file(entry, label_map_names) if entry is not None else None
        if held is not None:
            raise InputError(f"{what} {folder} is the folder of case {entry.name} (it holds "
                             f"{held.relative_to(entry).as_posix()}): the batch would leave "
                             f"that case out and write among its files; give the outputs a "
                             f"folder of their own, such as {_free_folder_name(root, listed)}")


def _free_folder_name(root: Path, listed: list[Path]) -> Path:
    """A folder for a batch's outputs in ``root`` that is none of its entries: ``omnet``, or
    ``omnet-2``, ``omnet-3``... when that name is taken (it may be the folder refused)."""
    taken = {entry.name.casefold() for entry in listed}
    name = next(n for n in ("omnet", *(f"omnet-{i}" for i in range(2, len(taken) + 3)))
                if n not in taken)
    return root / name


def _label_map_names(listed: list[Path]) -> set[str]:
    """The names (suffix off, letter case folded) a batch gives the label maps of the cases
    ``listed`` in its input folder."""
    return {strip_image_suffix(entry.name).casefold() for entry in listed}


def _without_earlier_output_folders(root: Path, listed: list[Path],
                                    entries: list[Path]) -> list[Path]:
    """``entries`` less the folders that hold only what batches write, a label map among it
    (an earlier run's ``--output-dir cases/omnet``, not named as an output this time): they
    were taken for a case that then failed. Named in one log line."""
    names = _label_map_names(listed)
    earlier = [e for e in entries if e.is_dir() and _first_input_file(e, names) is None
               and any(strip_image_suffix(p.name).casefold() in names or written_by_omnet(p)
                       for p in e.iterdir() if p.is_file() and is_image_path(p))]
    if earlier:
        log.info("%s: %s hold%s only what omnet segment wrote (an earlier run's outputs), "
                 "not cases", root, ", ".join(f"{e.name}/" for e in earlier),
                 "s" if len(earlier) == 1 else "")
    return [e for e in entries if e not in earlier]


def _first_input_file(folder: Path, label_map_names: set[str]) -> Path | None:
    """The first file in ``folder`` or below that a case may read (an image, a DICOM file, a
    zip archive) and that ``omnet segment`` did not write (by name or header): None in an
    output folder (label maps, brain masks, folders of maps, the report). An image named
    as the batch names a case's label map (``a.nii.gz`` for case ``a``, a ``label_map_names``
    key) is one, header or not: a map corrected in Slicer and saved again has lost it."""
    for parent, subfolders, names in os.walk(folder):
        subfolders[:] = sorted(name for name in subfolders if not is_system_entry(name))
        for name in sorted(names):
            path = Path(parent) / name
            if (not is_system_entry(name) and _may_be_read_by_a_case(path)
                    and not (parent == str(folder) and is_image_path(path)
                             and strip_image_suffix(name).casefold() in label_map_names)):
                return path
    return None


def _may_be_read_by_a_case(path: Path) -> bool:
    lower = path.name.lower()
    if lower.endswith(IMAGE_SUFFIXES):
        return not (is_omnet_output(path.name) or is_brain_mask(path.name)
                    or written_by_omnet(path))
    return lower.endswith(".zip") or is_dicom_file(path)


def _without_omnet_outputs(root: Path, entries: list[Path]) -> list[Path]:
    """``entries`` less the images whose header says ``omnet segment`` wrote them (a batch
    with ``--output-dir`` = ``--input-dir`` leaves ``a.nii.gz`` beside ``a/``: the next run
    took them for two cases a and refused the batch), named in one line."""
    ours = [e for e in entries if e.is_file() and is_image_path(e) and written_by_omnet(e)]
    if ours:
        names = ", ".join(e.name for e in ours[:3]) + (f" and {len(ours) - 3} more"
                                                      if len(ours) > 3 else "")
        log.info("%s: %s written by omnet segment (the header says so), not cases", root,
                 names)
    return [e for e in entries if e not in ours]


def _entry_cases(entries: list[Path], out: Path) -> list[BatchCase]:
    """One case per folder, 4D image or zip among ``entries``, named by it."""
    cases = []
    for entry in entries:
        if entry.is_dir():
            case_id = entry.name
        elif is_image_path(entry) or entry.name.lower().endswith(".zip"):
            case_id = case_id_from_file(entry.name)
        else:
            continue
        cases.append(BatchCase(case_id, entry, out / f"{case_id}.nii.gz"))
    return cases


def _same_file_message(first: BatchCase, case: BatchCase) -> str:
    """Why two cases' label maps are one file: one case id (``X/`` and ``X.zip`` both give
    ``X.nii.gz``), or ids that differ in letter case only (``Case1/`` and ``case1/``: one
    file on the case-insensitive file systems of macOS and Windows)."""
    if first.output == case.output:
        return (f"{_source_name(first)} and {_source_name(case)} are both case "
                f"{case.case_id} (output {case.output}): rename one")
    return (f"{_source_name(first)} and {_source_name(case)} differ only in letter case: "
            f"their outputs {first.output.name} and {case.output.name} are one file on macOS "
            f"and Windows: rename one")


def _source_name(case: BatchCase) -> str:
    source = case.source
    if isinstance(source, Path):
        return source.name + ("/" if source.is_dir() else "")
    return case.case_id


def _channel_batch(root: Path, channels: list[CaseFiles], images: list[str],
                   out: Path, order: tuple[str, ...]) -> list[BatchCase]:
    """The cases of a folder of nnU-Net channel files (channel ``k`` being ``order[k]``), in
    stem order; a stem missing a channel is a failed case that names it, so the batch's exit
    status says so."""
    cases = [BatchCase(case.case_id, case, out / f"{case.case_id}.nii.gz") for case in channels]
    for stem, roles in incomplete_channel_groups(images, order).items():
        missing = missing_channels(roles, order)
        cases.append(BatchCase(stem, root, out / f"{stem}.nii.gz", status="failed",
                               error=f"no channel {missing} among "
                                     f"{', '.join(sorted(roles.values()))}"))
    return sorted(cases, key=lambda case: case.case_id)


def _case_option(folder: str | os.PathLike | None, case_id: str) -> Path | None:
    return Path(folder) / case_id if folder is not None else None


def brain_mask_path(folder: str | os.PathLike | None, case_id: str) -> Path | None:
    """Where a batch writes a case's brain mask: ``folder/<case>_brain_mask.nii.gz``, a name
    that says what it is, so the masks may share the label maps' folder."""
    return Path(folder) / f"{case_id}{BRAIN_MASK_SUFFIX}.nii.gz" if folder is not None else None


def _check_nothing_written_twice(cases: list[BatchCase],
                                 brain_mask_dir: str | os.PathLike | None) -> list[BatchCase]:
    """``cases``, unless the batch would write one file twice (two cases' label maps: one
    would be skipped as done or overwrite the other, unnamed; case ``a``'s brain mask is case
    ``a_brain_mask``'s label map when both share a folder) or over a case's input (label
    maps written into a folder of 4D images ``X.nii.gz``: case X was skipped as done, and
    with ``--overwrite`` its scans were replaced by its labels). Files are compared as the
    file system sees them, letter case ignored as on macOS and Windows."""
    inputs = {}
    for case in cases:
        inputs.update({file_key(path): (case, path) for path in _input_files(case)})
    written: dict[str, tuple[str, BatchCase]] = {}
    for case in cases:
        for what, path in (("label map", case.output),
                           ("brain mask", brain_mask_path(brain_mask_dir, case.case_id))):
            if path is None:
                continue
            key = file_key(path)
            if key in written:
                first_what, first = written[key]
                if (first_what, what) == ("label map", "label map"):
                    raise InputError(_same_file_message(first, case))
                raise InputError(f"the {first_what} of case {first.case_id} and the {what} of "
                                 f"case {case.case_id} are both {path}: rename one case or "
                                 f"give the brain masks their own folder")
            if key in inputs:
                owner, source = inputs[key]
                raise InputError(f"the {what} of case {case.case_id} would be written over "
                                 f"{source}, an input of case {owner.case_id}: write the "
                                 f"batch's outputs to another folder")
            written[key] = (what, case)
    return cases


def _check_side_folders(input_dir: str | os.PathLike, cases: list[BatchCase],
                        folders: dict[str, str | os.PathLike | None]) -> None:
    """Refuse, before any case, a folder of maps (what -> path, ``DIR/<case>/`` per case)
    that is the input folder or one that holds a case's files, or whose ``<case>`` folder
    is: ``--probabilities cases/`` wrote each case's maps among its scans, and beside 4D
    images ``X.nii.gz`` made folders ``X/`` that the next run took for cases."""
    held = input_folders([path for case in cases for path in _input_files(case)])
    held |= {file_key(case.source) for case in cases
             if isinstance(case.source, Path) and case.source.is_dir()}
    for what, folder in folders.items():
        if folder is None:
            continue
        if file_key(folder) in held | {file_key(input_dir)}:
            raise InputError(f"{what} {folder} holds the cases' own files: give the maps a "
                             f"folder of their own")
        for case in cases:
            if file_key(Path(folder) / case.case_id) in held:
                raise InputError(f"{what} {folder} would put the maps of case {case.case_id} "
                                 f"among the cases' own files in {Path(folder) / case.case_id}:"
                                 f" give the maps a folder of their own")


def _input_files(case: BatchCase) -> list[Path]:
    """The files a case reads: those of a case folder given as the batch folder as listed
    (all its images but the batch's outputs), others' found only when it is segmented."""
    files = [case.source] if isinstance(case.source, Path) else case.source.all_paths()
    return [path for path in [*files, *case.files] if not path.is_dir()]


def segment_folder(input_dir: str | os.PathLike, output_dir: str | os.PathLike, *,
                   segment: Callable, progress: Callable[[float, str], None] | None = None,
                   cancel: threading.Event | None = None,
                   probabilities_dir: str | os.PathLike | None = None,
                   attention_dir: str | os.PathLike | None = None,
                   brain_mask_dir: str | os.PathLike | None = None,
                   on_case: Callable[[BatchSummary], None] | None = None,
                   overwrite: bool = False, model_loader: Callable[[], Any] | None = None,
                   earlier: Mapping[str, EarlierCase] | None = None,
                   **options) -> BatchSummary:
    """Run ``segment`` (usually :func:`omnet.segment`) on every case of ``input_dir``.

    Writes ``output_dir/<case>.nii.gz``; a case whose output exists is skipped, or with
    ``overwrite`` segmented again (its old files stay until the new ones are complete). A
    case that fails with a user-facing error (or any other exception) is logged and
    recorded, and the batch goes on. ``probabilities_dir`` and ``attention_dir`` get a
    ``<case>`` folder per case, ``brain_mask_dir`` (which may be ``output_dir``) a
    ``<case>_brain_mask.nii.gz``; no file is written twice or over an input (refused before
    any case). ``on_case`` is called
    with the summary after every case (to keep a report current). A cancel request stops the
    batch: the case in progress writes nothing, it and those after it are "not run",
    ``stopped`` is set and the summary is returned (and given to ``on_case``), so what was
    done before the stop is still reported. ``model_loader`` gives ``segment`` its
    ``model=`` once every destination and case is checked, so a bad one is refused without
    waiting for the model. ``earlier``: what an earlier run's report said of each case
    (:func:`omnet.inference.batch_history.earlier_cases`); a case skipped as done keeps
    its report where its label map is the one that report describes.
    """
    masks_beside_maps = (brain_mask_dir is not None
                         and file_key(brain_mask_dir) == file_key(output_dir))
    check_destinations(folders={"the output folder": output_dir,
                                "the probabilities folder": probabilities_dir,
                                "the attention folder": attention_dir,
                                "the brain mask folder": None if masks_beside_maps
                                else brain_mask_dir})
    if masks_beside_maps:  # out and OUT: one folder on macOS and Windows, two on Linux
        check_folder_destination(brain_mask_dir, "the brain mask folder")
    summary = BatchSummary(find_batch_cases(input_dir, output_dir,
                                            {"the probabilities folder": probabilities_dir,
                                             "the attention folder": attention_dir,
                                             "the brain mask folder": brain_mask_dir},
                                            brain_mask_dir))
    _check_side_folders(input_dir, summary.cases, {"the probabilities folder": probabilities_dir,
                                                   "the attention folder": attention_dir})
    if model_loader is not None:
        options["model"] = model_loader()
    total = len(summary.cases)
    log.info("%d cases in %s: %d to segment", total, input_dir,
             sum(_to_segment(c, overwrite) for c in summary.cases))
    try:
        for index, case in enumerate(summary.cases):
            _run_case(case, segment, _case_progress(progress, index, total, case.case_id),
                      overwrite, (earlier or {}).get(case.case_id), {**options, "cancel": cancel,
                                  "probabilities_dir": _case_option(probabilities_dir,
                                                                    case.case_id),
                                  "attention_dir": _case_option(attention_dir, case.case_id),
                                  "brain_mask": brain_mask_path(brain_mask_dir,
                                                                case.case_id)})
            _log_case(summary, index, overwrite)
            if on_case is not None:
                on_case(summary)
    except Cancelled:
        summary.stopped = True
        for case in summary.cases:
            if case.status == "pending":
                case.status = "not run"
        if on_case is not None:
            on_case(summary)
    return summary


def _case_progress(progress: Callable[[float, str], None] | None, index: int, total: int,
                   name: str) -> Callable[[float, str], None]:
    """The batch's progress as one case reports its own: case ``index`` of ``total``."""

    def report(fraction: float, stage: str) -> None:
        if progress is not None:
            progress((index + fraction) / total, f"{name}: {stage}")

    return report


def _run_case(case: BatchCase, segment: Callable, progress: Callable[[float, str], None],
              overwrite: bool, earlier: EarlierCase | None, options: dict) -> None:
    """Segment one pending case (one whose output exists only with ``overwrite``) and record
    the outcome on it (a case skipped as done keeps ``earlier``'s report when that describes
    its label map); :class:`Cancelled` and KeyboardInterrupt pass through (the batch
    stops), any other error fails the case."""
    if case.status == "failed":  # found wanting when the batch was listed
        return
    if not _to_segment(case, overwrite):
        case.status = "skipped"
        if earlier is not None and file_key(earlier.output) == file_key(case.output):
            case.report = earlier.report
        if missing := _missing_side_outputs(options):
            log.warning("%s: skipped (its label map exists) without the %s asked for; add "
                        "--overwrite to segment it again", case.case_id, " and ".join(missing))
        return
    started = _clock()
    try:
        result = segment(case.source, case.output, progress=progress, **options)
    except (Cancelled, KeyboardInterrupt):
        raise
    except OMNetError as exc:
        case.status, case.error = "failed", _without_case_name(" ".join(str(exc).split()),
                                                               case.case_id)
    except Exception as exc:  # a bug or an unexpected library error: report, go on
        case.status, case.error = "failed", f"{type(exc).__name__}: {exc}"
        log.debug("%s failed", case.case_id, exc_info=True)
    else:
        case.status, case.report = "segmented", result.report
    case.seconds = round(_clock() - started, 2)


def _without_case_name(error: str, case_id: str) -> str:
    """``error`` without a leading ``<case_id>: ``: the batch's lines name the case already."""
    prefix = f"{case_id}: "
    return error[len(prefix):] if error.startswith(prefix) else error


def _missing_side_outputs(options: dict) -> list[str]:
    """The side outputs asked of a case (probabilities, attention, brain mask) that are not
    there: a batch run again with one more option skips its finished cases without them."""
    asked = {"probability maps": options.get("probabilities_dir"),
             "attention maps": options.get("attention_dir"),
             "brain mask": options.get("brain_mask")}
    return [what for what, path in asked.items() if path is not None and not Path(path).exists()]


def _to_segment(case: BatchCase, overwrite: bool) -> bool:
    return case.status == "pending" and (overwrite or not case.output.exists())


def _log_case(summary: BatchSummary, index: int, overwrite: bool) -> None:
    """The log line of case ``index``, just done: its outcome, and the cases still to
    segment with the time they should take at the pace so far."""
    case = summary.cases[index]
    if case.status == "segmented":
        outcome = f"{case.case_id}: segmented in {case.seconds:.1f} s" + "".join(
            f"; {warning}" for warning in case.warnings)
    elif case.status == "skipped":
        outcome = f"{case.case_id}: {case.output} exists, skipped"
    else:
        outcome = f"{case.case_id} failed: {case.error}"
    remaining = sum(_to_segment(c, overwrite) for c in summary.cases[index + 1:])
    timed = [c.seconds for c in summary.cases if c.status == "segmented" and c.seconds]
    line = case_line(index + 1, len(summary.cases), outcome, remaining,
                     eta_seconds(timed, remaining))
    log.log(logging.ERROR if case.status == "failed" else logging.INFO, line)
