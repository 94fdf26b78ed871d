"""Which sequence a NIfTI file is, from the JSON sidecar dcm2niix writes beside it.

A study converted with dcm2niix (``-b y``, its default) keeps each series' DICOM header in a
BIDS sidecar: ``series_0004.nii.gz`` beside ``series_0004.json``. When a file's own name
says nothing, the sidecar's series description, else its protocol name, else its
acquisition parameters (BIDS gives times in seconds; :mod:`omnet.data.acquisition` decides
in milliseconds) name the sequence, as for a DICOM study (:mod:`omnet.data.dicom`).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from omnet.data.acquisition import Acquisition, choose_series, role_from_acquisition
from omnet.data.naming import SEQUENCE_ROLES, described_role, strip_image_suffix

__all__ = ["Sidecar", "read_sidecar", "roles_from_sidecars", "sidecar_path"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sidecar:
    """What a sidecar says about its series: the names the scanner gave and how it was
    acquired."""

    description: str = ""
    protocol: str = ""
    acquisition: Acquisition = field(default_factory=Acquisition)

    @property
    def named_role(self) -> str | None:
        """The sequence the series description, else the protocol name, names
        (:func:`omnet.data.naming.described_role`)."""
        return described_role(self.description, self.protocol, SEQUENCE_ROLES)

    @property
    def measured_role(self) -> str | None:
        """The sequence the acquisition parameters give (None when they give none)."""
        return role_from_acquisition(self.acquisition)


def sidecar_path(image: Path) -> Path | None:
    """``x.nii.gz`` -> ``x.json`` when that file exists, else None."""
    candidate = image.with_name(strip_image_suffix(image.name) + ".json")
    return candidate if candidate.is_file() else None


def _milliseconds(value) -> float | None:
    """A BIDS time in seconds (a number, or the first of a list) in milliseconds."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value) * 1000.0


def _words(value) -> tuple[str, ...]:
    """``"GR_IR"`` or ``["ORIGINAL", "PRIMARY"]`` -> upper-case words."""
    if isinstance(value, str):
        value = value.replace("\\", "_").split("_")
    if not isinstance(value, list):
        return ()
    return tuple(str(v).strip().upper() for v in value if str(v).strip())


def read_sidecar(image: Path) -> Sidecar | None:
    """The sidecar of ``image``, or None when there is none or it is not a JSON object
    (a warning then: a broken sidecar must not stop a case whose names suffice)."""
    path = sidecar_path(image)
    if path is None:
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        log.warning("%s: not a readable JSON sidecar (%s); ignored", path.name, exc)
        return None
    if not isinstance(meta, dict):
        log.warning("%s: not a JSON object; ignored", path.name)
        return None
    agent = meta.get("ContrastBolusAgent") or meta.get("ContrastBolusIngredient") or ""
    acquisition = Acquisition(
        repetition_ms=_milliseconds(meta.get("RepetitionTime")),
        echo_ms=_milliseconds(meta.get("EchoTime")),
        inversion_ms=_milliseconds(meta.get("InversionTime")),
        scanning_sequence=_words(meta.get("ScanningSequence")),
        image_type=_words(meta.get("ImageType")),
        contrast_agent=str(agent).strip())
    return Sidecar(str(meta.get("SeriesDescription") or "").strip(),
                   str(meta.get("ProtocolName") or "").strip(), acquisition)


def _voxel_count(image: Path) -> int:
    """How many voxels ``image`` holds, from its header (0 when unreadable)."""
    import SimpleITK as sitk  # here: discovery stays free of SimpleITK until it is needed

    reader = sitk.ImageFileReader()
    reader.SetFileName(str(image))
    try:
        reader.ReadImageInformation()
    except RuntimeError:
        return 0
    return math.prod(reader.GetSize())


def roles_from_sidecars(images: Iterable[Path], roles: Iterable[str],
                        ) -> dict[str, tuple[Path, str]]:
    """Which of ``images`` (files whose names name no sequence) is each of ``roles``, by
    their sidecars, with a DICOM study's rules (:func:`omnet.data.acquisition.choose_series`:
    named by description or protocol first, else by acquisition parameters; the one with
    most voxels of several). Role -> (image, what in its sidecar named it)."""
    sidecars = {image: sidecar for image in images
                if (sidecar := read_sidecar(image)) is not None}
    picked = choose_series(list(sidecars), roles,
                           named_role=lambda image: sidecars[image].named_role,
                           acquisition=lambda image: sidecars[image].acquisition,
                           size=_voxel_count)
    found = {role: (image, "JSON sidecar's " + ("acquisition parameters" if by_parameters
                                                 else "series description"))
             for role, (image, by_parameters) in picked.items()}
    for role, (image, how) in found.items():
        log.info("%s: %s, by its %s", role, image.name, how)
    return found
