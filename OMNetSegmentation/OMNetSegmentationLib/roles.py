"""Which loaded volume is FLAIR, T1, T1c and T2 (pure logic, no Slicer).

The names are read with the same rules as ``omnet segment``
(:func:`omnet.data.naming.classify_name`); nnU-Net / Medical Segmentation Decathlon channel
files (``<case>_0000`` .. ``_0003``) are recognised when all four channels of a case are
present, in the order the ``dataset.json`` beside their files (or one folder up) names, as
``omnet segment --input-dir`` reads them (:func:`file_channels`), else MSD's FLAIR, T1w, T1gd,
T2w. A volume loaded from DICOM whose name says nothing (an
anonymised study), or from a file with a dcm2niix JSON sidecar beside it, may carry the
sequence its header says (:func:`omnet.data.acquisition.role_from_acquisition`,
:mod:`omnet.data.sidecar`); it is used only for a sequence no name gives. One volume never
gets two roles, and a frame of a 4D series (a Sequence's proxy volume) gets none. When
several volumes look like the same sequence, the volumes of the newest load win over older
ones, then the most canonical name (fewest words), then the newest volume.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from omnet.data.discovery import dataset_description
from omnet.data.naming import (
    ROLE_TITLES,
    SEQUENCE_ROLES,
    SHORT_TITLES,
    channel_groups,
    classify_name,
    tokens,
)
from omnet.errors import InputError

__all__ = ["RoleAssignment", "RoleConflict", "Volume", "assign_roles", "channel_roles",
           "detect_role", "file_channels", "patient_problem", "selection_problem",
           "series_problem", "transform_problem"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Volume:
    """A candidate volume: ``key`` identifies it (the MRML node ID), ``name`` is shown,
    ``acquisition`` the sequence its DICOM header or dcm2niix sidecar says (None: unknown),
    ``channels`` the sequence of nnU-Net channels 0..3 where its file lies
    (:func:`file_channels`), ``frames`` how many frames it shows one at a time (more than
    one: a 4D series' proxy volume, never given a role)."""

    key: str
    name: str
    acquisition: str | None = None
    channels: tuple[str, ...] = SEQUENCE_ROLES
    frames: int = 1


@dataclass(frozen=True)
class RoleConflict:
    """Several volumes looked like one sequence; ``chosen`` got the role, ``others`` did not."""

    role: str
    chosen: str
    others: tuple[str, ...]


@dataclass(frozen=True)
class RoleAssignment:
    """Volume key per role (None where nothing fits) and the conflicts that were resolved."""

    roles: dict[str, str | None]
    conflicts: tuple[RoleConflict, ...] = ()

    def missing(self) -> list[str]:
        """Roles still without a volume, in FLAIR, T1, T1c, T2 order."""
        return [role for role in SEQUENCE_ROLES if self.roles.get(role) is None]


def detect_role(name: str) -> str | None:
    """The sequence a volume name denotes; label maps and unknown names give None."""
    role = classify_name(name)
    return role if role in SEQUENCE_ROLES else None


def file_channels(file_name: str | None) -> tuple[str, ...]:
    """The sequence of nnU-Net channels 0..3 for a volume loaded from ``file_name``: what the
    ``dataset.json`` in its folder or the one above names (nnU-Net's BraTS conversions:
    T1, T1ce, T2, FLAIR), else MSD's order, also when that file names no four sequences.

    Asked for every volume at every panel refresh, so the answer is kept per folder until
    either ``dataset.json`` appears, changes or goes: a refresh reads each file once, and a
    bad one is warned about once, not at every refresh."""
    if not file_name:
        return SEQUENCE_ROLES
    folder = Path(file_name).parent
    return _folder_channels(folder, _stamps(folder, folder.parent))


def _stamps(*folders: Path) -> tuple[tuple[int, int] | None, ...]:
    """Modification time (ns) and size of each folder's ``dataset.json``, None where there is
    none; the size too, as two writes within one clock tick of the file system share a time."""
    stamps = []
    for folder in folders:
        try:
            status = os.stat(folder / "dataset.json")
            stamps.append((status.st_mtime_ns, status.st_size))
        except OSError:
            stamps.append(None)
    return tuple(stamps)


@lru_cache(maxsize=256)
def _folder_channels(folder: Path, stamps: tuple) -> tuple[str, ...]:
    """:func:`file_channels` for one folder, read once per ``stamps`` (the cache key: the
    ``dataset.json`` files as they are now)."""
    try:
        return dataset_description(folder, folder.parent).channels
    except InputError as error:
        log.warning("%s; reading channel files in the MSD order", error)
        return SEQUENCE_ROLES


def channel_roles(volumes: Sequence[Volume]) -> dict[str, str]:
    """Roles from ``<case>_0000``..``_0003`` names, only for cases with all four channels,
    channel ``k`` being ``channels[k]`` of its volumes."""
    found: dict[str, str] = {}
    for order in dict.fromkeys(volume.channels for volume in volumes):
        keys = {volume.name: volume.key for volume in volumes if volume.channels == order}
        found.update({keys[name]: role for roles in channel_groups(list(keys), order).values()
                      for role, name in roles.items()})
    return found


def assign_roles(volumes: Sequence[Volume], current: Mapping[str, str | None] | None = None,
                 new_keys: Collection[str] = ()) -> RoleAssignment:
    """Choose a volume for each role.

    Args:
        volumes: every candidate volume, oldest first; a frame of a 4D series (``frames`` >
            1: DCE, DWI or fMRI, whose name may well say "T1" or "T2") is left out, as only
            its current frame would be segmented (:func:`series_problem`).
        current: the volumes selected now; kept unless the newest load brings that sequence.
        new_keys: keys of the volumes just loaded; they take precedence over older volumes.
    """
    volumes = [volume for volume in volumes if volume.frames <= 1]
    order = {volume.key: index for index, volume in enumerate(volumes)}
    detected = channel_roles(volumes)
    for volume in volumes:
        role = detect_role(volume.name)
        if role is not None:
            detected[volume.key] = role
    names = {volume.key: volume.name for volume in volumes}
    roles: dict[str, str | None] = dict.fromkeys(SEQUENCE_ROLES)
    conflicts: list[RoleConflict] = []
    used: set[str] = set()

    def choose(role: str, keys: list[str]) -> None:
        keys = [key for key in keys if key not in used]
        if not keys:
            return
        keys.sort(key=lambda key: (len(tokens(names[key])), -order[key]))
        roles[role] = keys[0]
        used.add(keys[0])
        if len(keys) > 1:
            conflicts.append(RoleConflict(role, keys[0], tuple(keys[1:])))

    candidates = {role: [key for key in order if detected.get(key) == role]
                  for role in SEQUENCE_ROLES}
    named = set(detected.values())
    for volume in volumes:  # by acquisition only for sequences that no name gives
        role = volume.acquisition
        if role in candidates and role not in named and volume.key not in detected:
            candidates[role].append(volume.key)
    for role in SEQUENCE_ROLES:
        choose(role, [key for key in candidates[role] if key in new_keys])
    for role in SEQUENCE_ROLES:
        kept = (current or {}).get(role)
        if roles[role] is None and kept in order and kept not in used:
            roles[role] = kept
            used.add(kept)
    for role in SEQUENCE_ROLES:
        if roles[role] is None:
            choose(role, candidates[role])
    return RoleAssignment(roles, tuple(conflicts))


def selection_problem(chosen: Mapping[str, str | None]) -> str | None:
    """Why the chosen volumes (role -> volume key) cannot be segmented, or None: one volume
    chosen for two sequences (easy with four selectors) would give the network three
    contrasts; ``omnet segment`` refuses it too, but only after the volumes are written."""
    roles_of: dict[str, list[str]] = {}
    for role in SEQUENCE_ROLES:
        if chosen.get(role):
            roles_of.setdefault(chosen[role], []).append(ROLE_TITLES[role])
    repeated = next((titles for titles in roles_of.values() if len(titles) > 1), None)
    if repeated:
        return (f"The same volume is selected as {' and '.join(repeated)}. Select a "
                f"different volume for each of the four sequences.")
    return None


def series_problem(frames: Mapping[str, tuple[str, int]]) -> str | None:
    """Why the chosen volumes cannot be segmented, or None: ``frames`` maps each role to the
    chosen volume's (name, number of frames). A 4D series (DCE, DWI, fMRI, a multi-volume
    file) is a Sequence in Slicer, shown as a plain volume of its current frame; only that
    frame would be written and segmented, without a word."""
    series = [(SHORT_TITLES[role], frames[role]) for role in SEQUENCE_ROLES
              if frames.get(role) and frames[role][1] > 1]
    if not series:
        return None
    listed = "; ".join(f"the {title} volume '{name}' is one frame of a series of {count}"
                       for title, (name, count) in series)
    return (f"{listed[:1].upper()}{listed[1:]} (a Sequence: a 4D series such as DCE, DWI or "
            f"fMRI), and only the frame shown would be segmented. Select a 3D volume for each "
            f"sequence; to segment the frame shown, clone it first (Data module, right-click "
            f"the volume, Clone) and select the clone.")


def transform_problem(transform_ids: Collection[str | None]) -> str | None:
    """Why the volumes cannot be segmented together as they are placed, or None.

    The child reads the files, which hold the untransformed grids; the result is put under
    the volumes' transform, so all four must share one parent transform (or have none).
    """
    if len(set(transform_ids)) > 1:
        return ("The four volumes are under different transforms. Harden the transforms "
                "(Transforms module) or place all four under the same transform.")
    return None


def patient_problem(patients: Mapping[str, tuple[int, str] | None]) -> str | None:
    """A question for the user when the chosen volumes (role -> the patient each sits under
    in the Data module, as (item, name); None when loaded from files) belong to several
    patients: with several patients loaded from DICOM, one wrong selector mixes two heads,
    which the pipeline cannot always tell (both may lie on one atlas grid). None when one
    or none. Patients are told apart by item, so two named alike ("Anonymous") count as two."""
    by_patient: dict[int, tuple[str, list[str]]] = {}
    for role in SEQUENCE_ROLES:
        if patients.get(role):
            item, name = patients[role]
            by_patient.setdefault(item, (name, []))[1].append(SHORT_TITLES[role])
    if len(by_patient) < 2:
        return None
    listed = "; ".join(f"{', '.join(titles)} under '{name}'"
                       for name, titles in by_patient.values())
    return (f"The selected volumes belong to {len(by_patient)} patients in the Data module "
            f"({listed}). Segment them together anyway?")
