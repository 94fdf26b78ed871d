"""Find the four sequences (and the label map) of a case folder, and the cases of a dataset.

No image is read here except to recognise DICOM series folders and, where dcm2niix's JSON
sidecars name the sequences, to count voxels; errors name the files seen.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from omnet.data.bids import bids_case_id
from omnet.data.dataset_json import MSD_DEFAULT, DatasetDescription, describe_dataset
from omnet.data.naming import (
    IMAGE_SUFFIXES,
    ROLE_TITLES,
    SEQUENCE_ROLES,
    case_id_from_file,
    channel_groups,
    classify_name,
    incomplete_channel_groups,
    is_omnet_output,
    label_scheme_of_name,
    missing_channels,
    strip_image_suffix,
    without_case_id,
)
from omnet.data.sidecar import roles_from_sidecars
from omnet.errors import InputError

__all__ = ["SYSTEM_FOLDERS", "CaseFiles", "DatasetScan", "channel_cases", "dataset_description",
           "find_case_files", "folder_name", "is_dicom_file", "is_dicomdir", "is_image_path",
           "is_system_entry", "name_prefix", "scan_dataset"]

log = logging.getLogger(__name__)

#: Folders that archivers, operating systems and file system checks put beside the data
#: (macOS's zip, a Windows or USB drive's root, fsck), in lower case: never images or cases.
SYSTEM_FOLDERS = frozenset({"__macosx", "$recycle.bin", "system volume information",
                            "lost+found"})


@dataclass
class CaseFiles:
    """Where one case's images are: four sequence files, or one 4D file (MSD order).

    ``label_scheme`` names the BraTS scheme of ``seg`` when the layout fixes it (MSD);
    ``channel_order`` the sequence of each volume of ``four_d`` (a ``dataset.json``'s);
    ``order_from`` and ``scheme_from`` say where the sequences and the scheme were read
    (``scheme_from`` None: the label values decide), for ``omnet train --check``.
    """

    case_id: str
    flair: Path | None = None
    t1: Path | None = None
    t1ce: Path | None = None
    t2: Path | None = None
    four_d: Path | None = None
    seg: Path | None = None
    label_scheme: str | None = None
    channel_order: tuple[str, ...] = SEQUENCE_ROLES
    order_from: str = "file names"
    scheme_from: str | None = None
    #: role -> the files of its DICOM series, where a study was searched by series
    #: description (the role's path is then the series' folder, which may hold others).
    dicom_files: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: role -> how its file was recognised where not by its file name (given with --t1ce,
    #: a dcm2niix sidecar, a DICOM header, nnU-Net channel order), for the report.
    found_by: dict[str, str] = field(default_factory=dict)

    def sequences(self) -> dict[str, Path]:
        """The role -> path mapping of the four sequences (empty for a 4D case)."""
        return {r: getattr(self, r) for r in SEQUENCE_ROLES if getattr(self, r) is not None}

    def all_paths(self) -> list[Path]:
        paths = [*self.sequences().values(), self.four_d, self.seg]
        return [p for p in paths if p is not None]

    def sequence_files(self) -> dict[str, str]:
        """Role -> the file read as that sequence, ``name [k]`` for volume ``k`` of a 4D
        file: what ``omnet train --check`` shows of how a case was read."""
        if self.four_d is not None:
            return {role: f"{self.four_d.name} [{k}]" for k, role in enumerate(self.channel_order)}
        return {role: path.name + ("/" if role in self.dicom_files else "")
                for role, path in self.sequences().items()}


def folder_name(folder: str | os.PathLike) -> str:
    """The name a folder has, also when given as ``.`` or ``..`` (whose ``Path.name`` is
    empty or ``..``): the case id of ``omnet segment .``."""
    return Path(os.path.abspath(folder)).name


def name_prefix(folder: str | os.PathLike, names: list[str]) -> str:
    """The case id ``folder``'s files start with, to leave out of their names
    (:func:`omnet.data.naming.without_case_id`): its name, or where none starts with that
    and the folder is a link, the name of the folder it points to (``--input-dir link`` of
    ``subject_t1/subject_t1_flair.nii.gz``)."""
    given = folder_name(folder)
    resolved = Path(os.path.abspath(folder)).resolve().name
    for case_id in (given, resolved):
        if any(without_case_id(name, case_id) != name for name in names):
            return case_id
    return given


def is_system_entry(name: str) -> bool:
    """A hidden file or folder (``.DS_Store``, AppleDouble ``._x.nii.gz``) or one of the
    :data:`SYSTEM_FOLDERS`: not part of any case."""
    return name.startswith(".") or name.casefold() in SYSTEM_FOLDERS


def is_image_path(path: Path) -> bool:
    """A file with a known image suffix, or a folder holding a DICOM series."""
    if is_system_entry(path.name):
        return False
    if path.is_dir():
        return _is_dicom_folder(path)
    return path.name.lower().endswith(IMAGE_SUFFIXES)


def _is_dicom_folder(folder: Path) -> bool:
    """A folder with a DICOM image file among its first 50 entries; a CD's DICOMDIR (an
    index of the images in the folders below, no image itself) does not count, or a CD's
    top folder would be searched for series, which GDCM warns it has none."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return False
    for entry in entries[:50]:
        if entry.is_file() and not is_dicomdir(entry) and (
                entry.suffix.lower() in (".dcm", ".ima") or is_dicom_file(entry)):
            return True
    return False


def is_dicomdir(path: Path) -> bool:
    """A CD's or PACS export's DICOMDIR: the index of its images, named so by the standard."""
    return path.name.upper() == "DICOMDIR"


def is_dicom_file(path: Path) -> bool:
    """A file with the DICOM preamble's ``DICM`` mark."""
    try:
        with open(path, "rb") as f:
            f.seek(128)
            return f.read(4) == b"DICM"
    except OSError:
        return False


def _listing(paths: list[Path]) -> str:
    names = [p.name + ("/" if p.is_dir() else "") for p in paths]
    return ", ".join(names) if names else "nothing"


def _case_folders(folder: Path) -> list[Path]:
    """Sub-folders of ``folder`` that hold images themselves (cases of a batch)."""
    return [d for d in sorted(folder.iterdir()) if d.is_dir() and not is_system_entry(d.name)
            and any(is_image_path(p) for p in d.iterdir())]


def channel_cases(folder: Path, names: list[str], order: tuple[str, ...] = SEQUENCE_ROLES,
                  order_from: str = MSD_DEFAULT) -> list[CaseFiles]:
    """One case per complete group of nnU-Net channel files among ``names`` in ``folder``
    (:func:`omnet.data.naming.channel_groups`, channel ``k`` being ``order[k]``, as
    ``order_from`` says), named by its stem, in stem order."""
    return [CaseFiles(case_id=stem, **{role: folder / name for role, name in roles.items()},
                      found_by={role: f"nnU-Net channel file {name}" for role, name
                                in roles.items()}, order_from=order_from)
            for stem, roles in sorted(channel_groups(names, order).items())]


def find_case_files(case_dir: str | os.PathLike, need_seg: bool = False,
                    given: Mapping[str, Path] | None = None) -> CaseFiles:
    """Assign the images of ``case_dir`` to roles by name, the folder's name (the case id)
    left out where a file's name starts with it; ``given`` (role -> path, from ``--t1ce``
    and the like) fixes those roles, and the rest are looked for.

    A folder with exactly one image and no recognisable sequence names is taken as one 4D
    image in the Medical Segmentation Decathlon order (FLAIR, T1w, T1gd, T2w); one with the
    four nnU-Net channel files of one case (``<case>_0000`` .. ``_0003``, that order) as
    that case. Label maps OMNet wrote there (``*_omnet.nii.gz``) are not images of the case.

    Two label maps are an error only with ``need_seg`` (training, the Slicer demo); without
    it the case has none, since segmenting does not need one.

    Raises:
        InputError: missing folder, a sequence (or a needed label map) claimed by two
            files, or a missing sequence; the message lists the files seen.
    """
    case_dir = Path(case_dir)
    if not case_dir.is_dir():
        raise InputError(f"case folder not found: {case_dir}")
    given = {role: Path(path) for role, path in (given or {}).items()}
    taken = {path.resolve() for path in given.values()}
    images = sorted(p for p in case_dir.iterdir() if is_image_path(p)
                    and not is_omnet_output(p.name) and p.resolve() not in taken)
    name = folder_name(case_dir)  # the case id, left out of its files' names: subject_t1/
    # subject_t1_flair.nii.gz is a FLAIR, and subject_t1/subject_t1_t2.nii.gz no T1
    prefix = name_prefix(case_dir, [path.name for path in images])
    named = {path: classify_name(path.name, case_id=prefix) for path in images}
    roles: dict[str, list[Path]] = {}
    for path, role in named.items():
        if role is not None and role not in given:
            roles.setdefault(role, []).append(path)
    case = CaseFiles(case_id=bids_case_id(Path(os.path.abspath(case_dir))) or name, **given,
                     found_by={role: "given" for role in given})
    for role, paths in roles.items():
        if len(paths) > 1 and role == "seg" and not need_seg:
            log.debug("%s: several label maps (%s), none needed", name, _listing(paths))
        elif len(paths) > 1:
            raise InputError(f"{name}: several files look like {ROLE_TITLES[role]}: "
                             f"{_listing(paths)}; name the right one with "
                             "--flair/--t1/--t1ce/--t2")
        else:
            setattr(case, role, paths[0])
    unnamed = [p for p in images if named[p] is None]
    missing_roles = [r for r in SEQUENCE_ROLES if getattr(case, r) is None]
    if missing_roles and unnamed:  # dcm2niix output: series_0004.nii.gz + series_0004.json
        for role, (path, how) in roles_from_sidecars(unnamed, missing_roles).items():
            setattr(case, role, path)
            case.found_by[role] = how
            case.order_from = "file names and dcm2niix JSON sidecars"
            unnamed.remove(path)
    sequences = case.sequences()
    channels = channel_cases(case_dir, [p.name for p in unnamed])
    if not sequences and len(channels) == 1:  # nnU-Net channel files: <case>_0000 .. _0003
        case = channels[0]
    elif not sequences and len(unnamed) == 1:
        case.four_d, case.order_from = unnamed[0], MSD_DEFAULT
    elif not images and (cases := _case_folders(case_dir)):
        raise InputError(f"{name} holds {len(cases)} case folders, not one case's "
                         f"sequences: segment them all with --input-dir {case_dir} "
                         "--output-dir OUT")
    elif len(sequences) < len(SEQUENCE_ROLES):
        missing = [ROLE_TITLES[r] for r in SEQUENCE_ROLES if r not in sequences]
        raise InputError(f"{name}: no {', no '.join(missing)} found among "
                         f"{_listing(images)}")
    if need_seg and case.seg is None:
        raise InputError(f"{name}: no label map (*_seg / *-seg) among {_listing(images)}")
    return case


@dataclass
class DatasetScan:
    """Cases found in a training folder and the problems of those that were left out."""

    cases: list[CaseFiles] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)


def dataset_description(*folders: Path) -> DatasetDescription:
    """What the first ``dataset.json`` among ``folders`` says of the channels and labels (an
    nnU-Net ``imagesTs/`` has it in the folder above); the MSD brain tumour task's (FLAIR,
    T1w, T1gd, T2w; MSD labels) when there is none or it is not a JSON object.

    Raises:
        InputError: a ``dataset.json`` that is there but cannot be read (permissions).
    """
    for folder in folders:
        meta = folder / "dataset.json"
        if not meta.is_file():
            continue
        try:
            parsed = json.loads(meta.read_text())
            if not isinstance(parsed, dict):
                raise ValueError("not a JSON object")
        except OSError as exc:  # present but unreadable: guessing its channels could swap them
            raise InputError(f"cannot read {meta}: {exc.strerror or exc}") from None
        except ValueError:
            log.warning("%s is not valid JSON; assuming the MSD brain tumour channels and "
                        "labels", meta)
            return DatasetDescription(channels_from="the MSD default (dataset.json unreadable)",
                                      scheme_from="the MSD default (dataset.json unreadable)")
        return describe_dataset(parsed)
    return DatasetDescription()


def _scan_msd(root: Path) -> DatasetScan:
    scan = DatasetScan()
    described = dataset_description(root)
    scheme, order = described.label_scheme, described.channels
    label_dir = root / "labelsTr"
    images = sorted(p for p in (root / "imagesTr").iterdir() if is_image_path(p))
    channels = channel_cases(root / "imagesTr", [p.name for p in images], order,
                             described.channels_from)
    incomplete = incomplete_channel_groups([p.name for p in images], order)
    for stem, roles in sorted(incomplete.items()):  # not 4D images: a case missing channels
        missing = missing_channels(roles, order, stem)
        scan.problems.append((stem, f"no channel file {missing} in imagesTr"))
    for case in channels:  # nnU-Net v2: <case>_0000 .. _0003, labelsTr/<case>
        ending = case.flair.name[len(strip_image_suffix(case.flair.name)):]
        label = label_dir / f"{case.case_id}{ending}"
        if not label.is_file():
            scan.problems.append((case.case_id, f"no label map {label_dir.name}/{label.name}"))
            continue
        case.seg, case.label_scheme = label, scheme
        case.scheme_from = described.scheme_from if scheme else None
        scan.cases.append(case)
    if channels or incomplete:
        return scan
    for image in images:
        label = label_dir / image.name
        case_id = case_id_from_file(image.name)
        if not label.is_file():
            scan.problems.append((case_id, f"no label map {label_dir.name}/{image.name}"))
            continue
        scan.cases.append(CaseFiles(case_id=case_id, four_d=image, seg=label,
                                    label_scheme=scheme, channel_order=order,
                                    order_from=described.channels_from,
                                    scheme_from=described.scheme_from if scheme else None))
    return scan


def scan_dataset(data_dir: str | os.PathLike) -> DatasetScan:
    """Find training cases: case folders with sequences + label map, or the MSD layout."""
    root = Path(data_dir)
    if not root.is_dir():
        raise InputError(f"dataset folder not found: {root}")
    if (root / "imagesTr").is_dir():
        return _scan_msd(root)
    scan = DatasetScan()
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not is_system_entry(p.name)):
        if nested := _nested_dataset(folder):
            scan.problems.append((folder.name, nested))
            continue
        try:
            case = find_case_files(folder, need_seg=True)
            case.label_scheme = label_scheme_of_name(case.seg.name)
            case.scheme_from = "the label map's file name" if case.label_scheme else None
            scan.cases.append(case)
        except InputError as exc:
            scan.problems.append((folder.name, str(exc)))
    if not scan.cases and not scan.problems:
        raise InputError(_no_cases_text(root))
    return scan


#: What ``omnet train`` expects of DATA_DIR, for the errors that say it was not that.
EXPECTED_LAYOUT = ("one sub-folder per case with the four sequences and a *_seg / *-seg label "
                   "map, or imagesTr/ + labelsTr/ (MSD, nnU-Net)")


def _nested_dataset(folder: Path) -> str | None:
    """Why a sub-folder of a training folder is a whole dataset rather than a case (an MSD
    or nnU-Net dataset, or a folder of case folders), else None."""
    if (folder / "imagesTr").is_dir():
        return f"an MSD / nnU-Net dataset (imagesTr/), not a case: train on {folder}"
    if not any(is_image_path(p) for p in folder.iterdir()) and _case_folders(folder):
        return f"a folder of case folders, not a case: train on {folder}"
    return None


def _no_cases_text(root: Path) -> str:
    """The one-line error for a training folder with no case in it, with what was expected."""
    if any(is_image_path(p) for p in root.iterdir()):
        return (f"{root} holds images, not case folders (one case, or imagesTr?): give the "
                f"folder above it; expected {EXPECTED_LAYOUT}")
    return f"no case folders in {root}; expected {EXPECTED_LAYOUT}"
