"""The three tumour segments: names, colours, label values, standard terminology (pure).

Codes are SNOMED CT (designator SCT) as used by Slicer's terminology lists and DICOM
(category "Morphologically Altered Structure" 49755003; types Necrosis 6574001 and Edema
79654002 from Slicer's General Anatomy list, Neoplasm 108369006 from the DICOM lesion
types; anatomic region Brain 12738006). Segment names carry the BraTS meaning, the codes
what survives a DICOM SEG export.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from omnet.labels import BRATS2023

__all__ = ["CHILD_SCHEME", "GRID_ATTRIBUTE", "SEGMENTS", "SEGMENT_TAG", "Code", "SegmentSpec",
           "algorithm_tags", "match_segments", "region_volumes_ml", "terminology_entry",
           "volume_rows"]

#: Segment tag that marks a segment as OMNet's and says which one it is.
SEGMENT_TAG = "OMNet.Segment"
#: Segmentation attribute: where OMNet made the segments, "network" (its 1 mm grid) or
#: "reference" (the T1c's grid); measuring again exports them on that grid.
GRID_ATTRIBUTE = "OMNet.Grid"
#: Segment tags Slicer's DICOM SEG export writes as Segment Algorithm Type / Name
#: (0062,0008) / (0062,0009); without them it writes MANUAL, as if a person had drawn them.
ALGORITHM_TYPE_TAG = "DICOM.SegmentAlgorithmType"
ALGORITHM_NAME_TAG = "DICOM.SegmentAlgorithmName"
_LO_MAX = 64  # Segment Algorithm Name is an LO: at most 64 characters
TERMINOLOGY_CONTEXT = "Segmentation category and type - DICOM master list"
ANATOMIC_CONTEXT = "Anatomic codes - DICOM master list"


@dataclass(frozen=True)
class Code:
    """One coded concept: ``SCT^6574001^Necrosis`` in Slicer's terminology strings."""

    value: str
    meaning: str
    scheme: str = "SCT"

    def __str__(self) -> str:
        return f"{self.scheme}^{self.value}^{self.meaning}"


MORPHOLOGICALLY_ALTERED = Code("49755003", "Morphologically Altered Structure")
BRAIN = Code("12738006", "Brain")


@dataclass(frozen=True)
class SegmentSpec:
    """One output segment: its key, name, label value in the child's output, colour, type,
    and its surface's opacity in 3D (the edema, which wraps the core, is see-through)."""

    key: str
    name: str
    label: int
    color: tuple[float, float, float]
    type: Code
    opacity_3d: float = 1.0


#: The label values of the child's label map (``--labels brats2023``: 1, 2, 3).
CHILD_SCHEME = BRATS2023

#: In label order: the child writes the scheme's necrotic, edema and enhancing values.
SEGMENTS = (
    SegmentSpec("necrotic", "Necrotic and non-enhancing tumour core", CHILD_SCHEME.necrotic,
                (0.86, 0.24, 0.20), Code("6574001", "Necrosis")),
    SegmentSpec("edema", "Peritumoral edema", CHILD_SCHEME.edema, (0.36, 0.78, 0.36),
                Code("79654002", "Edema"), opacity_3d=0.3),
    SegmentSpec("enhancing", "Enhancing tumour", CHILD_SCHEME.enhancing, (1.00, 0.84, 0.16),
                Code("108369006", "Neoplasm")),
)


def terminology_entry(spec: SegmentSpec) -> str:
    """Slicer's serialised terminology entry (7 ``~``-separated fields) for a segment."""
    empty = "^^"
    return "~".join([TERMINOLOGY_CONTEXT, str(MORPHOLOGICALLY_ALTERED), str(spec.type), empty,
                     ANATOMIC_CONTEXT, str(BRAIN), empty])


def match_segments(segments: Iterable[tuple[str, str, str]]) -> dict[str, str]:
    """OMNet's segments among ``(segment ID, OMNet.Segment tag, name)`` triples: key -> ID.

    A segment's tag says which of OMNet's segments it is; where no segment has a key's tag,
    the first untagged one with that segment's name stands for it. The tag lives only in
    Slicer's own files (.seg.nrrd, the scene): a DICOM SEG of the result, loaded back,
    keeps the names (its Segment Label) but not the tag. Both the update of an earlier
    result and the lesion measurement use this rule, so they agree on which segments are
    OMNet's. Keys with no segment are left out.
    """
    triples = list(segments)
    found: dict[str, str] = {}
    for segment_id, tag, _name in triples:
        if tag and tag not in found:
            found[tag] = segment_id
    for spec in SEGMENTS:
        if spec.key not in found:
            untagged = [segment_id for segment_id, tag, name in triples
                        if not tag and name == spec.name]
            if untagged:
                found[spec.key] = untagged[0]
    return {spec.key: found[spec.key] for spec in SEGMENTS if spec.key in found}


def algorithm_tags(version: str) -> dict[str, str]:
    """Tags that mark a segment as OMNet's automatic result in a DICOM SEG export.

    Set again on every run: a fresh result is AUTOMATIC even where an edit had made it
    SEMIAUTOMATIC (QuantitativeReporting's editor tracker does that after an edit).
    """
    return {ALGORITHM_TYPE_TAG: "AUTOMATIC",
            ALGORITHM_NAME_TAG: f"OMNet {version}".strip()[:_LO_MAX]}


def region_volumes_ml(voxels: Mapping[int, int], voxel_volume_mm3: float) -> dict[str, float]:
    """Whole tumour, core and enhancing tumour in mL from voxel counts per label value of
    the child's label map: omnet's own regions and sums, so the panel and the child's
    RESULT cannot disagree."""
    from omnet.measurement.volumes import volumes_from_counts  # scipy, SimpleITK: when used

    volumes = volumes_from_counts(voxels, CHILD_SCHEME, voxel_volume_mm3 / 1000.0)
    return {"whole": volumes["whole"], "core": volumes["core"],
            "enhancing_tumour": volumes["enhancing"]}


def volume_rows(volumes_ml: Mapping[str, float]) -> list[tuple[str, str]]:
    """Rows of the volume table from a RESULT's ``volumes_ml``: (region, "12.3 mL")."""
    rows = []
    for key, title in (("whole", "Whole tumour"), ("core", "Tumour core"),
                       ("enhancing_tumour", "Enhancing tumour")):
        value = volumes_ml.get(key)
        rows.append((title, "-" if value is None else f"{float(value):.1f} mL"))
    return rows
