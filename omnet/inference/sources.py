"""What a user may pass as a case, turned into what :func:`omnet.data.imageio.read_case` reads."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from omnet.data.archive import is_zip_archive, unpack_case_archive
from omnet.data.discovery import CaseFiles, find_case_files
from omnet.data.naming import case_id_from_file
from omnet.errors import InputError

__all__ = ["arrays_with_spacing", "case_input", "check_given_files", "explicit_case"]


def check_given_files(given: Mapping[str, str | os.PathLike | None]) -> None:
    """Refuse a file named for a sequence (``--t1ce FILE``) that is not there, in one line."""
    for role, file in given.items():
        if file is not None and not Path(file).exists():
            raise InputError(f"--{role} file not found: {file}")


def case_input(inputs: object, given: Mapping[str, Path] | None = None) -> CaseFiles | Mapping:
    """A case folder, one 4D file, a zip archive of a case folder, a :class:`CaseFiles`, or
    a mapping role -> source. ``given`` (role -> file, e.g. ``--t1ce``) fixes those roles of
    a folder or archive; the others are found in it."""
    if isinstance(inputs, (CaseFiles, Mapping)):
        return inputs
    if isinstance(inputs, (str, os.PathLike)):
        path = Path(inputs)
        check_given_files(given or {})
        if path.is_dir():
            return _case_folder(path, given)
        if is_zip_archive(path):
            folder = unpack_case_archive(path)
            try:
                case = _case_folder(folder, given)
            except InputError as exc:
                raise InputError(str(exc).replace(folder.name, path.name, 1)) from None
            return dataclasses.replace(case, case_id=case_id_from_file(path.name))
        if path.is_file() and given:
            raise InputError(f"{path.name} is one file, not a case folder: --flair/--t1/--t1ce/"
                             "--t2 can only complete a folder")
        if path.is_file():
            return CaseFiles(case_id=case_id_from_file(path.name), four_d=path)
        raise InputError(f"input not found: {path}")
    raise InputError(f"cannot segment a {type(inputs).__name__}; pass a case folder, a 4D "
                     "file, or a mapping of flair/t1/t1ce/t2 to files or images")


def _case_folder(folder: Path, given: Mapping[str, Path] | None = None) -> CaseFiles:
    """The sequences named by their files; failing that, by the series descriptions of a
    DICOM study anywhere below (a PACS export: ``DICOM/ST000001/SE000001/...``)."""
    try:
        return find_case_files(folder, given=given)
    except InputError:
        from omnet.data.dicom import study_case

        study = study_case(folder, given)
        if study is None:
            raise
        return study


def explicit_case(flair, t1, t1ce, t2) -> dict[str, Path]:
    """The four ``--flair/--t1/--t1ce/--t2`` files; all four are needed."""
    given = {"flair": flair, "t1": t1, "t1ce": t1ce, "t2": t2}
    missing = [f"--{k}" for k, v in given.items() if v is None]
    if missing:
        raise InputError(f"missing {', '.join(missing)}: give all four sequences")
    return {k: Path(v) for k, v in given.items()}


def arrays_with_spacing(inputs: object, spacing: Sequence[float] | None) -> object:
    """``inputs`` with each numpy array made an image of ``spacing`` (mm, x y z).

    An array carries no voxel size; without ``spacing`` it is taken as 1 mm, which for any
    other voxel size gives wrong volumes or a refused "slab". ``spacing`` with no array
    among the inputs is refused: files and images carry their own.
    """
    if spacing is None:
        return inputs
    wrong = InputError(f"spacing must be three positive mm values (x y z), not {spacing}")
    try:  # a single number (spacing=1.0) or text is no voxel size either
        values = tuple(float(v) for v in spacing)
    except (TypeError, ValueError):
        raise wrong from None
    if len(values) != 3 or not all(math.isfinite(v) and v > 0 for v in values):
        raise wrong
    if not isinstance(inputs, Mapping) or not any(isinstance(v, np.ndarray)
                                                  for v in inputs.values()):
        raise InputError("spacing is for numpy array inputs only; files and images carry "
                         "their own voxel size")

    import SimpleITK as sitk  # here: the command line imports this module before reading

    def image(array: np.ndarray) -> sitk.Image:
        made = sitk.GetImageFromArray(array)
        made.SetSpacing(values)
        return made

    return {role: image(v) if isinstance(v, np.ndarray) else v for role, v in inputs.items()}
