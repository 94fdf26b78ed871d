"""Read MRI volumes and whole cases into arrays on one reference grid.

``read_image`` reads one 3D volume (any format SimpleITK reads, or a DICOM series folder)
and refuses unusable input with a one-line :class:`InputError`. ``load_case`` reads the four
sequences of a case, resamples them in physical space onto the reference sequence (the T1c,
see :data:`REFERENCE_ROLE`) and returns a (4, z, y, x) float32 array in the channel order
FLAIR, T1, T1c, T2, plus the reference image that defines the output geometry.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Union

import numpy as np
import SimpleITK as sitk

from omnet.data.dicom import SERIES, header_tags, read_series
from omnet.data.dicom_patient import other_patient_series, patient_of, series_header_file
from omnet.data.discovery import CaseFiles, is_dicom_file
from omnet.data.geometry import register_rigid, resample_onto, same_grid
from omnet.data.naming import (
    IMAGE_SUFFIXES,
    ROLE_TITLES,
    SEQUENCE_ROLES,
    case_id_from_file,
    channel_stem,
)
from omnet.errors import InputError

__all__ = ["REFERENCE_ROLE", "VOXEL_MM", "LoadedCase", "RawCase", "align_case", "check_volume",
           "check_voxel_size", "load_case", "read_case", "read_four_d", "read_image", "read_raw",
           "whole_labels"]

log = logging.getLogger(__name__)

#: The sequence whose grid every other sequence is resampled onto, and the output's grid.
#: The contrast-enhanced T1 is usually the finest 3D acquisition of a clinical protocol.
REFERENCE_ROLE = "t1ce"
#: The voxel sizes (mm) an MRI of the head has: 7 T reaches 0.1 mm, 2D series 10 mm slices.
#: Far outside, the header's unit of length is wrong: ITK scales a NIfTI's lengths by its
#: xyzt_units, so millimetre values labelled meters read 1000 times too large (the skull
#: stripping then ran out of memory) and labelled microns 1000 times too small.
VOXEL_MM = (0.05, 30.0)
#: NIfTI xyzt_units codes of lengths (the low three bits).
_NIFTI_LENGTH_UNITS = {1: "meters", 2: "millimetres", 3: "microns"}
#: Order of the volumes inside a Medical Segmentation Decathlon 4D file.
MSD_ORDER = SEQUENCE_ROLES  # the Decathlon's FLAIR, T1w, T1gd, T2w: our channel order

#: A case for :func:`align_case`: its files, or role -> path, image or array.
CaseInput = Union[CaseFiles, Mapping[str, Union[str, os.PathLike, sitk.Image, np.ndarray]]]


@dataclass
class LoadedCase:
    """One case on the reference grid.

    Attributes:
        images: (4, z, y, x) float32, channels FLAIR, T1, T1c, T2.
        reference: the reference image (its geometry is the output's; pixels unused).
        seg: the label map on the same grid (nearest neighbour), or None.
        case_id: a name for messages and output files.
        label_scheme: the label scheme of ``seg`` if the layout fixes it (MSD), else None.
    """

    images: np.ndarray
    reference: sitk.Image
    seg: np.ndarray | None = None
    case_id: str = "case"
    label_scheme: str | None = None


def _reader_complaint(exc: RuntimeError) -> str:
    """ITK's complaint in a few words: its first error line, what follows its last "ERROR:",
    without the file's path (the message names the file already)."""
    line = next((ln.strip() for ln in str(exc).splitlines()
                 if "ERROR" in ln or "error" in ln), "")
    if not line:
        return "unreadable"
    words = re.split(r"ERROR:\s*", line)[-1]
    words = re.sub(r'\s*(for|from)?\s*"[^"]*"?', "", words).strip(" .:")
    return words[:120] or "unreadable"


def read_raw(path: str | os.PathLike) -> sitk.Image:
    """Read an image file or DICOM series folder as it is (no checks on its content)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"image not found: {path}")
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(f"cannot read {path.name}: the file is empty (0 bytes: an interrupted "
                         "copy or download?)")
    try:
        if path.is_dir():
            reader = sitk.ImageSeriesReader()
            series = reader.GetGDCMSeriesIDs(str(path))
            if not series:
                raise InputError(f"{path.name}/: no DICOM series in this folder")
            if len(series) > 1:
                raise InputError(f"{path.name}/: {len(series)} DICOM series in one folder; "
                                 "put each sequence in its own folder")
            return read_series(reader.GetGDCMSeriesFileNames(str(path), series[0]), path.name)
        image = _whole_dicom_series(path) or sitk.ReadImage(str(path))
    except RuntimeError as exc:
        raise InputError(f"cannot read {path.name}: not a readable image "
                         f"({_reader_complaint(exc)})") from None
    name = path.name.lower()
    if name.endswith(".nii.gz") and not _gzip_nifti_complete(path):
        raise InputError(f"cannot read {path.name}: the file is truncated or corrupt (its "
                         "compressed data ends before the image does)")
    if name.endswith((".nii", ".nii.gz")):
        try:
            nonfinite = _nifti_has_nonfinite(path)
        except (OSError, EOFError):
            raise InputError(f"cannot read {path.name}: the file is corrupt") from None
        if nonfinite:
            raise InputError(f"{path.name}: contains NaN or infinite values")
    if _without_orientation(image):
        log.warning("%s: its NIfTI header gives no orientation (qform_code and sform_code "
                    "0); read axis-aligned from origin 0, as ITK and Slicer read it: its left "
                    "and right are a guess",
                    path.name)
    return image


def _without_orientation(image: sitk.Image) -> bool:
    """Whether a NIfTI header sets neither its qform nor its sform (an Analyze-style file):
    ITK then invents a geometry that neither it nor any other reader can check."""
    codes = [image.GetMetaData(key) if image.HasMetaDataKey(key) else None
             for key in ("qform_code", "sform_code")]
    return codes == ["0", "0"]


def _whole_dicom_series(path: Path) -> sitk.Image | None:
    """The whole series one DICOM file belongs to (a user gave one image of it), or None for
    anything else (a NIfTI, NRRD, ... file is not even opened here)."""
    name = path.name.lower()
    named_dicom = name.endswith((".dcm", ".ima"))
    if not named_dicom and (name.endswith(IMAGE_SUFFIXES) or not is_dicom_file(path)):
        return None
    (uid,) = header_tags(str(path), SERIES)
    files = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(path.parent), uid) if uid else ()
    if len(files) < 2:  # one file: a multi-frame one is checked frame by frame
        return read_series((str(path),), path.name)
    log.info("%s is one image of a %d-image DICOM series: reading the series", path.name,
             len(files))
    return read_series(files, path.name)


class _NiftiLayout(NamedTuple):
    voxels: int
    bitpix: int
    datatype: int
    offset: int
    order: str


def _nifti_layout(header: bytes) -> _NiftiLayout | None:
    """Voxel count, bits per voxel, data type code, data offset and byte order of a NIfTI-1
    or NIfTI-2 header; None for anything else."""
    for order in "<>":
        if len(header) >= 348 and struct.unpack(order + "i", header[:4])[0] == 348:
            dims = struct.unpack(order + "8h", header[40:56])
            datatype, bitpix = struct.unpack(order + "2h", header[70:74])
            offset = int(struct.unpack(order + "f", header[108:112])[0])
            break
        if len(header) >= 540 and struct.unpack(order + "i", header[:4])[0] == 540:
            dims = struct.unpack(order + "8q", header[16:80])
            datatype, bitpix = struct.unpack(order + "2h", header[12:16])
            offset = struct.unpack(order + "q", header[168:176])[0]
            break
    else:
        return None
    voxels = int(np.prod([max(1, d) for d in dims[1:1 + max(0, min(7, dims[0]))]]))
    return _NiftiLayout(voxels, bitpix, datatype, offset, order)


def _open_nifti(path: Path):
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def _gzip_nifti_complete(path: Path) -> bool:
    """Whether a .nii.gz holds all its voxels: ITK fills a truncated stream with zeros.

    The gzip trailer stores the uncompressed size (mod 2**32); it must equal the header's
    voxel offset plus dims x bits per voxel. Costs two small reads, not a decompression.
    """
    try:
        with gzip.open(path, "rb") as f:
            header = f.read(544)
        with open(path, "rb") as f:
            f.seek(-4, os.SEEK_END)
            (stored_size,) = struct.unpack("<I", f.read(4))
    except (OSError, EOFError):
        return False
    layout = _nifti_layout(header)
    if layout is None:
        return True  # not a NIfTI header we know: nothing to compare
    expected = layout.offset + layout.voxels * layout.bitpix // 8
    return stored_size == expected % (1 << 32)


#: NIfTI data type codes of float32 and float64 voxels.
_NIFTI_FLOATS = {16: "f4", 64: "f8"}


def _nifti_has_nonfinite(path: Path, chunk_bytes: int = 1 << 24) -> bool:
    """Whether a floating-point NIfTI file stores NaN or infinite voxels. ITK's reader turns
    them into zeros, so :func:`check_volume` cannot see them; integer files cannot hold
    them and are not read again."""
    with _open_nifti(path) as f:
        layout = _nifti_layout(f.read(544))
        if layout is None or layout.datatype not in _NIFTI_FLOATS:
            return False
        dtype = np.dtype(layout.order + _NIFTI_FLOATS[layout.datatype])
        f.seek(layout.offset)
        remaining = layout.voxels * dtype.itemsize
        step = chunk_bytes - chunk_bytes % dtype.itemsize
        while remaining > 0:
            data = f.read(min(step, remaining))
            if not data:
                return False  # short file: the completeness check reports it
            if not np.isfinite(np.frombuffer(data[: len(data) - len(data) % dtype.itemsize],
                                             dtype=dtype)).all():
                return True
            remaining -= len(data)
    return False


def _length_unit(image: sitk.Image) -> str | None:
    """The unit of length a NIfTI header names (ITK keeps it as ``xyzt_units``), or None."""
    if not image.HasMetaDataKey("xyzt_units"):
        return None
    try:
        return _NIFTI_LENGTH_UNITS.get(int(image.GetMetaData("xyzt_units")) & 7)
    except ValueError:
        return None


def check_voxel_size(image: sitk.Image, name: str) -> None:
    """Refuse voxels no MRI of a head has (:data:`VOXEL_MM`; for the large side, the two
    finer sides: slices far apart alone are a localizer's or a slab's, refused later by
    name): a header's wrong unit of length, which would otherwise fail later as a "slab"
    or by running out of memory."""
    spacing = image.GetSpacing()
    low, high = VOXEL_MM
    in_plane = sorted(spacing)[:2]  # a wrong unit scales every side; wide gaps between
    if min(spacing) >= low and max(in_plane) <= high:  # slices alone are a localizer's
        return
    unit = _length_unit(image)
    cause = (f"its header says its lengths are in {unit}; are they millimetres?" if unit
             and unit != "millimetres" else "is the header's voxel size in another unit?")
    sizes = " x ".join(f"{s:g}" for s in spacing)
    raise InputError(f"{name}: voxels of {sizes} mm, outside any MRI's {low:g} to {high:g} "
                     f"mm: {cause}")


def check_volume(image: sitk.Image, name: str) -> sitk.Image:
    """Refuse a volume that is not 3D scalar, has voxels no MRI has, holds NaN/inf, or is
    all zero or constant; return it."""
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(f"{name}: has {image.GetNumberOfComponentsPerPixel()} components per "
                         "voxel; expected one 3D scalar volume")
    if image.GetDimension() != 3:
        raise InputError(f"{name}: is a {image.GetDimension()}D image; expected a 3D volume")
    if min(image.GetSize()) < 2:
        raise InputError(f"{name}: size {image.GetSize()} is a single slice, not a 3D volume")
    check_voxel_size(image, name)
    array = sitk.GetArrayViewFromImage(image)
    if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        raise InputError(f"{name}: contains NaN or infinite values")
    if not np.any(array):
        raise InputError(f"{name}: the volume is empty (every voxel is zero)")
    if array.min() == array.max():
        raise InputError(f"{name}: the volume is constant (every voxel is {array.flat[0]:g}): "
                         "an empty or failed export")
    return image


def read_dicom_files(files: tuple[str, ...], name: str) -> sitk.Image:
    """One DICOM series from its files (a study searched by description), checked."""
    try:
        image = read_series(files, name)
    except RuntimeError as exc:
        raise InputError(f"cannot read the DICOM series of {name}: "
                         f"{_reader_complaint(exc)}") from None
    return check_volume(image, name)


def read_image(path: str | os.PathLike) -> sitk.Image:
    """Read one 3D volume (file or DICOM series folder) and check that it is usable.

    Raises:
        InputError: missing or corrupt file, not 3D scalar, NaN/inf values, all zero or
            constant.
    """
    path = Path(path)
    return check_volume(read_raw(path), path.name)


def read_four_d(path: str | os.PathLike,
                order: Sequence[str] = MSD_ORDER) -> dict[str, sitk.Image]:
    """Split a 4D file (or a 4-component image) into four 3D volumes: role -> volume, the
    ``k``-th being ``order[k]`` (MSD order unless a ``dataset.json`` says otherwise)."""
    path = Path(path)
    image = read_raw(path)
    components = image.GetNumberOfComponentsPerPixel()
    if components > 1:
        if components != len(MSD_ORDER) or image.GetDimension() != 3:
            raise InputError(f"{path.name}: {components} components per voxel; a 4D case needs "
                             "4 volumes (FLAIR, T1w, T1gd, T2w)")
        volumes = [sitk.VectorIndexSelectionCast(image, k) for k in range(components)]
    elif image.GetDimension() == 4:
        size = list(image.GetSize())
        if size[3] != len(MSD_ORDER):
            raise InputError(f"{path.name}: a 4D image with {size[3]} volumes; a 4D case needs "
                             "4 volumes in the order FLAIR, T1w, T1gd, T2w")
        volumes = [sitk.Extract(image, [*size[:3], 0], [0, 0, 0, k]) for k in range(size[3])]
    else:
        raise InputError(f"{path.name}: a {image.GetDimension()}D image with one volume; "
                         "expected 4 sequences (FLAIR, T1w, T1gd, T2w) in one 4D file"
                         + _channel_file_hint(path))
    if image.HasMetaDataKey("xyzt_units"):  # the split drops the header; its unit of
        for volume in volumes:  # length names the cause when check_voxel_size refuses
            volume.SetMetaData("xyzt_units", image.GetMetaData("xyzt_units"))
    return {role: check_volume(v, f"{path.name} [{ROLE_TITLES[role]}]")
            for role, v in zip(order, volumes)}


def _channel_file_hint(path: Path) -> str:
    """What to do with one nnU-Net channel file given as a case (``imagesTr/X_0000.nii.gz``):
    segment its folder, which reads every case's four channel files; "" for other names."""
    stem = channel_stem(path.name)
    if stem is None:
        return ""
    return (f"; it looks like one channel file of case {stem} (nnU-Net _0000 .. _0003): "
            f"segment its folder with --input-dir {path.parent} --output-dir OUT")


@dataclass
class RawCase:
    """A case as read: each sequence in its own geometry, before resampling."""

    case_id: str
    images: dict[str, sitk.Image]
    seg: sitk.Image | None = None
    label_scheme: str | None = None
    #: The series whose DICOM header names another patient than the T1c's; None where
    #: there was nothing to compare (:mod:`omnet.data.dicom_patient`).
    dicom_patient_mismatch: list[str] | None = None


def _case_id(source: object) -> str:
    if isinstance(source, (str, os.PathLike)):
        return case_id_from_file(Path(source).name)
    return "case"


def _as_image(source: object, name: str) -> sitk.Image:
    if isinstance(source, sitk.Image):
        return check_volume(source, name)
    if isinstance(source, np.ndarray):
        return check_volume(sitk.GetImageFromArray(source), name)
    if isinstance(source, (str, os.PathLike)):
        return read_image(source)
    raise InputError(f"{name}: cannot read an image from {type(source).__name__}")


def read_case(case: CaseInput) -> RawCase:
    """Read the four sequences (and the label map, if any) of a case without resampling.

    ``case`` is a :class:`CaseFiles` or a mapping role -> path, ``SimpleITK.Image`` or
    array (z, y, x) with the roles flair, t1, t1ce, t2 (and optionally seg).
    """
    if isinstance(case, CaseFiles):
        seg = read_raw(case.seg) if case.seg is not None else None
        if case.four_d is not None:
            return RawCase(case.case_id, read_four_d(case.four_d, case.channel_order), seg,
                           case.label_scheme)
        images = {r: read_dicom_files(case.dicom_files[r], ROLE_TITLES[r])
                  if r in case.dicom_files else read_image(p)
                  for r, p in case.sequences().items()}
        headers = {r: case.dicom_files[r][0] if r in case.dicom_files else p
                   for r, p in case.sequences().items()}
        return RawCase(case.case_id, images, seg, case.label_scheme,
                       _dicom_patient_mismatch(headers))
    if not isinstance(case, Mapping):
        raise InputError(f"cannot load a case from {type(case).__name__}")
    unknown = set(case) - {*SEQUENCE_ROLES, "seg"}
    if unknown:
        raise InputError(f"unknown sequence names {sorted(unknown)}; use "
                         f"{', '.join(SEQUENCE_ROLES)} (and seg)")
    missing = [ROLE_TITLES[r] for r in SEQUENCE_ROLES if case.get(r) is None]
    if missing:
        raise InputError(f"no {', no '.join(missing)} given")
    images = {r: _as_image(case[r], ROLE_TITLES[r]) for r in SEQUENCE_ROLES}
    seg = case.get("seg")
    if seg is not None and not isinstance(seg, sitk.Image):
        seg = sitk.GetImageFromArray(seg) if isinstance(seg, np.ndarray) else read_raw(seg)
    return RawCase(_case_id(case[SEQUENCE_ROLES[0]]), images, seg,
                   dicom_patient_mismatch=_dicom_patient_mismatch(
                       {r: case[r] for r in SEQUENCE_ROLES}))


def _dicom_patient_mismatch(sources: Mapping[str, object]) -> list[str] | None:
    """The roles whose DICOM series names another patient than the reference's (role ->
    path, image or array; only DICOM files and series folders are compared)."""
    files = {role: series_header_file(source) for role, source in sources.items()}
    return other_patient_series({role: patient_of(file) for role, file in files.items()
                                 if file is not None}, REFERENCE_ROLE)


#: How far a label value may lie from a whole number and still be read as it (a label map
#: stored as float: 0.9999 is 1); further off, it was interpolated, not a label.
LABEL_TOLERANCE = 1e-3


def _value_list(values: np.ndarray, shown: int = 4) -> str:
    text = ", ".join(f"{v:g}" for v in values[:shown])
    return text + (f" and {len(values) - shown} more" if len(values) > shown else "")


def whole_labels(seg: np.ndarray, name: str) -> np.ndarray:
    """``seg`` as whole numbers: values within :data:`LABEL_TOLERANCE` of one are rounded
    (said at INFO); others (1.5: a label map resampled with linear interpolation) would be
    trained as a class they are not, so they are refused.

    Raises:
        InputError: a value further than the tolerance from a whole number, or not finite.
    """
    if np.issubdtype(seg.dtype, np.integer):
        return seg
    values = np.unique(seg)
    off = np.where(np.isfinite(values), np.abs(values - np.rint(values)), np.inf)
    if np.any(off > LABEL_TOLERANCE):
        raise InputError(f"{name}: values {_value_list(values[off > LABEL_TOLERANCE])} are not "
                         "whole numbers (a label map resampled with linear interpolation?); "
                         "resample it with nearest neighbour")
    if np.any(off > 0):
        log.info("%s: values %s rounded to the nearest whole number", name,
                 _value_list(values[off > 0]))
    return np.rint(seg).astype(np.int16)


def align_case(raw: RawCase, register: bool = False,
               reference_role: str = REFERENCE_ROLE) -> LoadedCase:
    """Resample every sequence (and the label map) onto the reference sequence's grid.

    With ``register`` each other sequence is first aligned to the reference by a rigid
    mutual-information registration. The label map is only resampled (nearest neighbour),
    its values made whole numbers (:func:`whole_labels`).

    Raises:
        GeometryError: a sequence does not overlap the reference in physical space.
        InputError: label values that are not whole numbers.
    """
    reference = raw.images[reference_role]
    # one (4, z, y, x) array filled in place: no per-sequence float copies, no stacking
    arrays = np.empty((len(SEQUENCE_ROLES), *reversed(reference.GetSize())), dtype=np.float32)
    for index, role in enumerate(SEQUENCE_ROLES):
        image = raw.images[role]
        transform = None
        if register and role != reference_role:
            transform = register_rigid(reference, image, name=ROLE_TITLES[role])
        if transform is None and same_grid(image, reference):
            arrays[index] = sitk.GetArrayViewFromImage(image)  # cast while copying
            continue
        resampled = resample_onto(image, reference, transform=transform,
                                  name=ROLE_TITLES[role])
        arrays[index] = sitk.GetArrayViewFromImage(resampled)
    seg = None
    if raw.seg is not None:
        seg = whole_labels(sitk.GetArrayFromImage(resample_onto(
            raw.seg, reference, nearest=True, name="label map")), f"{raw.case_id}: label map")
    return LoadedCase(images=arrays, reference=reference, seg=seg,
                      case_id=raw.case_id, label_scheme=raw.label_scheme)


def load_case(case: CaseInput, register: bool = False,
              reference_role: str = REFERENCE_ROLE) -> LoadedCase:
    """Read a case and resample every sequence onto the reference sequence's grid.

    Args:
        case: a :class:`CaseFiles`, or a mapping role -> path, ``SimpleITK.Image`` or array
            with the roles flair, t1, t1ce, t2 (and optionally seg).
        register: first align each other sequence to the reference with a rigid
            mutual-information registration (for unregistered clinical data).
        reference_role: the sequence that defines the grid (default: T1c).

    Returns:
        images (4, z, y, x) float32 in the order FLAIR, T1, T1c, T2 on the reference grid,
        the reference image, and the label map on that grid (or None).

    Raises:
        InputError / GeometryError: unreadable input or a sequence that does not overlap the
            reference in physical space.
    """
    return align_case(read_case(case), register, reference_role)
