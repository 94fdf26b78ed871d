"""Turn crop-sized results into images in the reference geometry and write them atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from omnet.data.detached import data_file_named, data_file_written, detached_suffix
from omnet.errors import InputError
from omnet.inference.attention import ATTENTION_FILES
from omnet.labels import LABEL_DESCRIPTION_PREFIX, NOTE_KEYS, SCHEMES, LabelScheme, header_notes
from omnet.measurement.volumes import region_volumes_ml
from omnet.preprocessing.crop import BBox, paste_back
from omnet.utils.atomic import atomic_path, outermost_missing, partial_folder

__all__ = ["BRAIN_MASK_DESCRIPTION", "OMNET_DESCRIPTIONS", "PROBABILITY_NAMES",
           "UNCERTAINTY_DESCRIPTION", "WRITABLE_SUFFIXES", "attention_images", "check_destinations",
           "check_file_destination", "check_folder_destination", "check_image_destination",
           "check_not_inputs", "check_segment_destinations", "file_key", "input_folders",
           "label_description", "label_volumes_ml", "map_description", "probability_images",
           "to_image", "write_image", "write_images", "written_by_omnet"]

#: Image formats SimpleITK writes, told by the file name's ending.
WRITABLE_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd")

#: Output file stem of each task's probability channels: ``<task>_<class>.nii.gz``.
PROBABILITY_NAMES = {
    "task1": ("background", "necrotic", "edema", "enhancing", "normal"),
    "task2": ("background", "necrotic", "edema", "enhancing", "normal"),
    "task3": ("not_enhancing", "enhancing"),
}

#: What each side output holds, in its file's header (NIfTI ``descrip``, 80 characters at
#: most: ``fslhd``, FSLeyes, nibabel show it), so a file opened alone says what it is.
BRAIN_MASK_DESCRIPTION = "OMNet brain mask: 1 brain, 0 outside"
#: The uncertainty is measured against the class of the runs' average before post-processing,
#: not against the label map written.
UNCERTAINTY_DESCRIPTION = ("OMNet uncertainty: share of mirrored runs off their average's "
                           "class, 0-1")


#: The kinds of maps written one file per name in a folder, and their names.
_MAP_NAMES = {"probability": tuple(f"{task}_{name}" for task, names in PROBABILITY_NAMES.items()
                                   for name in names),
              "attention map": ATTENTION_FILES}


def _label_text(scheme: LabelScheme) -> str:
    return (f"{LABEL_DESCRIPTION_PREFIX} ({scheme.name}): {scheme.necrotic} necrotic, "
            f"{scheme.edema} edema, {scheme.enhancing} enhancing")


def _map_text(kind: str, name: str) -> str:
    return f"OMNet {kind}: {name}"


#: The header text of every image ``omnet segment`` writes (the label map of each scheme,
#: the brain mask, the uncertainty map, each probability and attention map): its writers take
#: theirs from here and :func:`written_by_omnet` knows only these, so the two cannot drift.
OMNET_DESCRIPTIONS = frozenset({
    BRAIN_MASK_DESCRIPTION, UNCERTAINTY_DESCRIPTION,
    *(_label_text(scheme) for scheme in SCHEMES.values()),
    *(_map_text(kind, name) for kind, names in _MAP_NAMES.items() for name in names)})


def _listed(text: str) -> str:
    """``text``, one of :data:`OMNET_DESCRIPTIONS`; a new output must be listed there first,
    or the next batch would take the file for a case."""
    if text not in OMNET_DESCRIPTIONS:
        raise ValueError(f"{text!r} is not among OMNET_DESCRIPTIONS")
    return text


def label_description(scheme: LabelScheme) -> str:
    """The label map's header text: which value is which sub-region."""
    return _listed(_label_text(scheme))


def map_description(kind: str, name: str) -> str:
    """A probability or attention map's header text (``OMNet probability: task1_edema``)."""
    return _listed(_map_text(kind, name))


def written_by_omnet(path: str | os.PathLike) -> bool:
    """Whether the image at ``path`` says in its header that ``omnet segment`` wrote it, in
    one of :data:`OMNET_DESCRIPTIONS` (only the header is read; an unreadable file is not):
    ``--output-dir`` = ``--input-dir`` puts ``cases/a.nii.gz`` beside ``cases/a/``, which the
    next batch took for a second case a. Another text that merely begins "OMNet " is not."""
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError:
        return False
    return any(note.strip() in OMNET_DESCRIPTIONS for note in header_notes(reader))


def label_volumes_ml(labels: np.ndarray, scheme: LabelScheme,
                     spacing: tuple[float, ...]) -> dict[str, float]:
    """Volumes in millilitres of each label and of the BraTS regions.

    Keys: necrotic, edema, enhancing (the labels) and whole, core, enhancing_tumour (the
    regions; enhancing_tumour equals enhancing, named as a region for reports).
    """
    totals = region_volumes_ml(labels, scheme, spacing)
    volumes = {name: totals[name] for name in ("necrotic", "edema", "enhancing", "whole", "core")}
    volumes["enhancing_tumour"] = totals["enhancing"]
    return volumes


def to_image(crop_values: np.ndarray, box: BBox, reference: sitk.Image,
             fill: float | int = 0, dtype=np.float32) -> sitk.Image:
    """A crop-sized (z, y, x) array pasted into the reference grid as an image."""
    shape = tuple(reversed(reference.GetSize()))
    full = paste_back(crop_values.astype(dtype, copy=False), box, shape, fill)
    image = sitk.GetImageFromArray(full)
    image.CopyInformation(reference)
    return image


def check_writable_place(folder: Path, what: str, path: Path) -> None:
    """Refuse ``path`` when ``folder`` (the folder it goes into, made when missing) cannot
    hold it: the nearest existing ancestor is a file, or takes no new files (read-only,
    no permission). Tried with a temporary file that is gone at once."""
    missing = outermost_missing(folder)
    existing = missing.parent if missing is not None else folder
    if not existing.is_dir():
        raise InputError(f"{what} {path} cannot be written: {existing} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise InputError(f"{what} {path} cannot be written: {existing} takes no new files "
                         f"({reason.lower()})") from None


def check_file_destination(path: str | os.PathLike, what: str,
                           example: str = "result.json") -> Path:
    """``path`` unless it is a folder, existing or named as one (ending in a separator, which
    ``Path`` drops: ``--report out/`` wrote a file ``out``), or cannot be written (one line,
    before any work is done)."""
    named_as_folder = str(path).endswith(("/", os.sep))
    path = Path(path)
    if named_as_folder:
        raise InputError(f"{what} {path}{os.sep} names a folder; give a file name such as "
                         f"{path / example}")
    if path.is_dir():
        raise InputError(f"{what} {path} is a folder; give a file name such as "
                         f"{path / example}")
    check_writable_place(path.parent, what, path)
    return path


def check_image_destination(path: str | os.PathLike, what: str) -> Path:
    """``path`` if an image can be written there; a one-line error before any work otherwise
    (a name without an image ending, or an existing folder, failed only after the network)."""
    path = check_file_destination(path, what, "result.nii.gz")
    if not path.name.lower().endswith(WRITABLE_SUFFIXES):
        raise InputError(f"{what} {path} has no image ending; use one of "
                         f"{', '.join(WRITABLE_SUFFIXES)}")
    return path


def check_folder_destination(path: str | os.PathLike, what: str) -> Path:
    """``path`` unless it is an existing file."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{what} {path} is a file, not a folder")
    check_writable_place(path, what, path)
    return path


def check_destinations(*, images: dict[str, str | os.PathLike | None] | None = None,
                       files: dict[str, str | os.PathLike | None] | None = None,
                       folders: dict[str, str | os.PathLike | None] | None = None) -> None:
    """Refuse, before any work, every given destination (what -> path) that cannot be
    written, or that two outputs share (an image's data file beside its ``.mhd`` header
    too): so a bad one never leaves the others written. Paths are compared by
    :func:`file_key`, letter case ignored, as the other checks do: on macOS and Windows
    ``-o X.nii.gz --brain-mask x.nii.gz`` is one file."""
    seen: dict[str, str] = {}
    for checks, check in ((images, check_image_destination), (files, check_file_destination),
                          (folders, check_folder_destination)):
        for what, path in (checks or {}).items():
            if path is None:
                continue
            check(path, what)
            data = data_file_written(path) if checks is images else None
            for name, written in ((what, Path(path)), (f"{what}'s data file", data)):
                if written is None:
                    continue
                key = file_key(written)
                if key in seen:
                    raise InputError(f"{seen[key]} and {name} are both {written}: give "
                                     f"each its own path")
                seen[key] = name


def check_segment_destinations(*, output: str | os.PathLike | None = None,
                               brain_mask: str | os.PathLike | None = None,
                               uncertainty: str | os.PathLike | None = None,
                               report: str | os.PathLike | None = None,
                               probabilities_dir: str | os.PathLike | None = None,
                               attention_dir: str | os.PathLike | None = None) -> None:
    """Every destination of one ``omnet segment`` run, named as its messages name them."""
    check_destinations(
        images={"the label map": output, "the brain mask": brain_mask,
                "the uncertainty map": uncertainty},
        files={"the report": report},
        folders={"the probabilities folder": probabilities_dir,
                 "the attention folder": attention_dir})


def file_key(path: str | os.PathLike) -> str:
    """One key per file, also on the case-insensitive file systems of macOS and Windows."""
    return str(Path(path).resolve()).casefold()


def input_folders(inputs: list[Path]) -> set[str]:
    """The keys (:func:`file_key`) of the folders that hold ``inputs``, and of those that
    are inputs (a DICOM series' folder)."""
    return ({file_key(path.parent) for path in inputs}
            | {file_key(path) for path in inputs if path.is_dir()})


def check_not_inputs(destinations: dict[str, str | os.PathLike | None],
                     inputs: list[Path],
                     folders: dict[str, str | os.PathLike | None] | None = None) -> None:
    """Refuse, before anything is read or written, a destination (what -> path) that is one
    of the case's own files: ``omnet segment X.nii.gz -o X.nii.gz`` replaced the scans with
    the labels, ``-o CASE/X_seg.nii.gz`` the expert's labels. Letter case is ignored, as
    the batch's check does: on macOS and Windows ``-o X.nii.gz`` is the file ``x.nii.gz``.
    The data files of ``.mhd`` / ``.nhdr`` headers count too, read and written; a folder of
    maps (``folders``: what -> path) may not be one that holds the case's files (a dozen
    maps mixed in with the scans, a name away from overwriting one)."""
    held = input_folders(inputs)
    for what, folder in (folders or {}).items():
        if folder is not None and file_key(folder) in held:
            raise InputError(f"{what} {folder} holds the case's own files: give the maps a "
                             f"folder of their own")
    read = {file_key(path) for path in inputs}
    read |= {file_key(data) for data in map(data_file_named, inputs) if data is not None}
    for what, path in destinations.items():
        if path is None:
            continue
        if file_key(path) in read:
            raise InputError(f"{what} {path} is one of the case's own files: give another "
                             f"name")
        data = data_file_written(path)
        if data is not None and file_key(data) in read:
            raise InputError(f"{what} {path} would write its data file {data.name} over one "
                             f"of the case's own files: give another name")


def write_image(image: sitk.Image, path: str | os.PathLike,
                description: str | None = None) -> Path:
    """Write under a temporary name and rename when complete (compressed if .gz);
    ``description`` goes into the header. The caller's ``image`` keeps its own metadata."""
    path = Path(path)
    with _described(image, description):
        suffix = detached_suffix(path)
        if suffix is not None:
            _write_detached(image, path, suffix)
        else:
            with atomic_path(path) as tmp:
                sitk.WriteImage(image, str(tmp), useCompression=True)
    return path


@contextlib.contextmanager
def _described(image: sitk.Image, description: str | None) -> Iterator[None]:
    """``image`` with ``description`` as ITK's file notes (what writers put in the header)
    while the block runs, and its own notes again after: a copy would duplicate the voxels,
    and a note left behind went into the next file written from the same image."""
    if description is None:
        yield
        return
    key = NOTE_KEYS[0]  # ITK's own notes: what its writers put in the header
    earlier = image.GetMetaData(key) if image.HasMetaDataKey(key) else None
    image.SetMetaData(key, description)
    try:
        yield
    finally:
        if earlier is None:
            image.EraseMetaData(key)
        else:
            image.SetMetaData(key, earlier)


def _write_detached(image: sitk.Image, path: Path, suffix: str) -> None:
    """A header and its data file (``labels.mhd`` + ``labels.zraw``) written in a hidden
    temporary folder beside ``path`` and moved out: an earlier header removed first, then
    the data, then the header. The header names its data file by its final name (a header
    written under a temporary name named a hidden temporary data file); a failed or stopped
    run leaves no header, never an earlier one read with the new data (its sizes, a
    different image)."""
    stem = path.name[:-len(suffix)]
    with partial_folder(path.parent, stem) as folder:
        staged = folder / f"{stem}{suffix}"  # in lower case: writers read the suffix
        sitk.WriteImage(image, str(staged), useCompression=True)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        for data in folder.iterdir():
            if data != staged:
                os.replace(data, path.parent / data.name)
        os.replace(staged, path)


#: Brings a crop-sized array back as an image on the reference grid: (values, fill) -> image
#: (e.g. :meth:`omnet.preparation.PreparedCase.restore_image`).
Restore = Callable[[np.ndarray, float], sitk.Image]


def probability_images(stitched: dict[str, np.ndarray],
                       restore: Restore) -> dict[str, sitk.Image]:
    """``<task>_<class>`` -> probability image; outside the crop it is certain background."""
    images = {}
    for task, names in PROBABILITY_NAMES.items():
        for channel, name in enumerate(names):
            fill = 1.0 if channel == 0 else 0.0
            images[f"{task}_{name}"] = restore(stitched[task][channel], fill)
    return images


def attention_images(volumes: dict[str, np.ndarray],
                     restore: Restore) -> dict[str, sitk.Image]:
    """Attention volumes as images; outside the crop Pt is 0, Pn 1 and features 0."""
    return {name: restore(v, 1.0 if name.endswith("_pn") else 0.0)
            for name, v in volumes.items()}


def write_images(images: dict[str, sitk.Image], folder: str | os.PathLike,
                 kind: str) -> list[str]:
    """Write each image as ``folder/<name>.nii.gz``, described in its header as
    ``OMNet <kind>: <name>`` (:func:`map_description`, all found before the first is
    written); returns the paths written."""
    described = {name: map_description(kind, name) for name in images}
    return [str(write_image(image, Path(folder) / f"{name}.nii.gz", described[name]))
            for name, image in images.items()]
