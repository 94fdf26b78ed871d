"""BIDS datasets: every ``sub-<label>/[ses-<label>/]anat`` folder is one case.

A research dataset converted with dcm2niix and organised by BIDS keeps each session's
structural scans in an ``anat`` folder (``sub-01_ses-pre_FLAIR.nii.gz``,
``sub-01_ses-pre_ce-gadovist_T1w.nii.gz``, ...; the naming rules read those names). The
case is then named by its subject and session, not by the folder ("anat").
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["bids_anat_folders", "bids_case_id"]


def bids_case_id(folder: Path) -> str | None:
    """``sub-01_ses-pre`` for ``.../sub-01/ses-pre/anat`` (``sub-01`` without a session);
    None when ``folder`` is not a BIDS anat folder."""
    if folder.name != "anat":
        return None
    labels, parent = [], folder.parent
    if parent.name.startswith("ses-"):
        labels.append(parent.name)
        parent = parent.parent
    if not parent.name.startswith("sub-"):
        return None
    return "_".join([parent.name, *labels])


def bids_anat_folders(root: Path) -> list[Path]:
    """The anat folders of the BIDS dataset whose top folder is ``root``, sorted (empty when
    ``root`` holds no ``sub-*`` folder with one); ``derivatives`` and the like are not
    searched."""
    return sorted(p for pattern in ("sub-*/anat", "sub-*/ses-*/anat")
                  for p in root.glob(pattern) if p.is_dir())
