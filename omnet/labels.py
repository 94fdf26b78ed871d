"""Class indices inside the network, BraTS label schemes and evaluation regions (torch-free).

Inside the network (tasks 1 and 2) there are five classes: 0 background (outside the brain),
1 necrosis / non-enhancing tumour (NCR/NET), 2 edema (ED), 3 enhancing tumour (ET), 4 normal
brain tissue. Task 3 is binary: 1 enhancing, 0 anything else. On disk, label maps follow a
BraTS scheme: 2018-2021 use 1/2/4, 2023 uses 1/2/3 for NCR/ED/ET.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from omnet.data.naming import SEQUENCE_ROLES

BACKGROUND, NECROTIC, EDEMA, ENHANCING, NORMAL = 0, 1, 2, 3, 4
NUM_CLASSES = 5
CLASS_NAMES = ("background", "necrotic/non-enhancing core", "edema", "enhancing tumour",
               "normal brain")
TUMOUR_CLASSES = (NECROTIC, EDEMA, ENHANCING)
NON_TUMOUR_CLASSES = (BACKGROUND, NORMAL)
CORE_CLASSES = (NECROTIC, ENHANCING)
NON_CORE_CLASSES = (BACKGROUND, EDEMA, NORMAL)
TASK_CLASSES = {1: NUM_CLASSES, 2: NUM_CLASSES, 3: 2}

#: The four input sequences in channel order (one tuple for the whole package).
MODALITIES = SEQUENCE_ROLES


@dataclass(frozen=True)
class LabelScheme:
    """Integer values of the three tumour sub-regions in a label map on disk."""

    name: str
    necrotic: int
    edema: int
    enhancing: int

    @property
    def values(self) -> tuple[int, int, int]:
        return (self.necrotic, self.edema, self.enhancing)

    def regions(self) -> dict[str, tuple[int, ...]]:
        """BraTS evaluation regions as label tuples of this scheme."""
        return {
            "whole": (self.necrotic, self.edema, self.enhancing),
            "core": (self.necrotic, self.enhancing),
            "enhancing": (self.enhancing,),
        }


BRATS2018 = LabelScheme("brats2018", necrotic=1, edema=2, enhancing=4)
BRATS2023 = LabelScheme("brats2023", necrotic=1, edema=2, enhancing=3)
#: Medical Segmentation Decathlon Task01_BrainTumour: 1 edema, 2 non-enhancing, 3 enhancing.
MSD = LabelScheme("msd", necrotic=2, edema=1, enhancing=3)
SCHEMES = {s.name: s for s in (BRATS2018, BRATS2023, MSD)}
REGION_NAMES = ("whole", "core", "enhancing")


def get_scheme(name: str) -> LabelScheme:
    """Look a scheme up by name, with a clear error listing the known ones."""
    try:
        return SCHEMES[name]
    except KeyError:
        raise ValueError(f"unknown label scheme {name!r}; known: {', '.join(SCHEMES)}") from None


def detect_scheme(values: Iterable[int], default: LabelScheme = BRATS2018) -> LabelScheme:
    """Guess the scheme from the label values present; 4 means 2018, 3 means 2023.

    Raises ValueError for values that fit neither scheme (or both 3 and 4).
    """
    present = {int(v) for v in values} - {0}
    if not present <= {1, 2, 3, 4} or {3, 4} <= present:
        shown = sorted(present)
        listed = (str(shown) if len(shown) <= 8 else
                  f"[{', '.join(map(str, shown[:6]))}, ... {shown[-1]}] ({len(shown)} values:"
                  " an image, not a label map?)")
        raise ValueError(f"label values {listed} fit neither BraTS scheme (0/1/2/4 or 0/1/2/3)")
    if 4 in present:
        return BRATS2018
    if 3 in present:
        return BRATS2023
    return default


#: How the header text (NIfTI ``descrip``) of a label map ``omnet segment`` writes begins:
#: ``OMNet tumour labels (brats2023): 1 necrotic, 2 edema, 3 enhancing``.
LABEL_DESCRIPTION_PREFIX = "OMNet tumour labels"
_DESCRIBED_SCHEME = re.compile(re.escape(LABEL_DESCRIPTION_PREFIX) + r" \((?P<name>[a-z0-9]+)\):")


#: Where ITK keeps a file's header text: its own notes (what it writes into a NIfTI
#: ``descrip``) and, as read back from a NIfTI, ``descrip``.
NOTE_KEYS = ("ITK_FileNotes", "descrip")


def header_notes(source) -> list[str]:
    """The header texts of ``source`` (a SimpleITK image or a reader that has read the
    image's information), under :data:`NOTE_KEYS`."""
    return [source.GetMetaData(key) for key in NOTE_KEYS if source.HasMetaDataKey(key)]


def described_scheme(description: str | None) -> LabelScheme | None:
    """The scheme a label map's header text names, or None (another tool's file): the values
    cannot tell a BraTS 2023 map without enhancing tumour (0/1/2) from a 2018 one."""
    found = _DESCRIBED_SCHEME.match((description or "").strip())
    return SCHEMES.get(found["name"]) if found else None


def classes_to_labels(classes: np.ndarray, scheme: LabelScheme = BRATS2018) -> np.ndarray:
    """Map network classes (0..4) to a BraTS label map (normal brain becomes 0)."""
    lut = np.zeros(NUM_CLASSES, dtype=np.uint8)
    lut[NECROTIC], lut[EDEMA], lut[ENHANCING] = scheme.values
    return lut[classes]


def labels_to_classes(labels: np.ndarray, brain_mask: np.ndarray | None,
                      scheme: LabelScheme = BRATS2018) -> np.ndarray:
    """Map a BraTS label map to network classes; brain voxels without tumour become NORMAL."""
    out = np.zeros(labels.shape, dtype=np.uint8)
    if brain_mask is not None:
        out[brain_mask] = NORMAL
    out[labels == scheme.necrotic] = NECROTIC
    out[labels == scheme.edema] = EDEMA
    out[labels == scheme.enhancing] = ENHANCING
    return out


def convert_scheme(labels: np.ndarray, source: LabelScheme, target: LabelScheme) -> np.ndarray:
    """Re-express a label map of one BraTS scheme in another (a new array)."""
    out = np.zeros_like(labels)
    for s, t in zip(source.values, target.values):
        out[labels == s] = t
    return out
