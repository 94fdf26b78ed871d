"""Lesion table and RANO diameter lines in the scene (Slicer only).

The rows and lines come from :mod:`.lesions` (pure); this file only creates and fills
nodes. Every call is listed, with where it was checked, in ``SLICER_API.md``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import slicer
import vtk

from .lesions import COLUMNS, diameter_lines, measure_labelmap_file, table_rows
from .names import RUN_SUFFIX_ATTRIBUTE, result_part_name
from .scene import omnet_segments, remove_with_helpers
from .segments import GRID_ATTRIBUTE, SEGMENTS

__all__ = ["LINES_ATTRIBUTE", "TABLE_ATTRIBUTE", "export_labelmap", "measure_segmentation",
           "show_lesions"]

LINES_ATTRIBUTE = "OMNet.LesionLinesOf"
TABLE_ATTRIBUTE = "OMNet.LesionTable"
_ARRAYS = {"string": vtk.vtkStringArray, "int": vtk.vtkIntArray, "double": vtk.vtkDoubleArray}
_COLOURS = {"long": (1.0, 0.85, 0.0), "perpendicular": (0.0, 0.8, 1.0)}
#: vtkSegmentation::EXTENT_REFERENCE_GEOMETRY (the enum's first value, 0, in
#: Libs/vtkSegmentationCore/vtkSegmentation.h at v5.8.1 and v5.12.3; QuantitativeReporting's
#: DICOM SEG export passes the same 0): the whole reference grid, not the segments' box.
EXTENT_REFERENCE_GEOMETRY = 0


def _fill_table(tableNode, rows) -> None:
    table = vtk.vtkTable()
    for title, kind in COLUMNS:
        column = _ARRAYS[kind]()
        column.SetName(title)
        table.AddColumn(column)
    table.SetNumberOfRows(len(rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            kind = COLUMNS[c][1]
            if kind == "string":
                table.GetColumn(c).SetValue(r, "" if value is None else str(value))
            else:
                table.GetColumn(c).SetValue(r, float("nan") if value is None and
                                            kind == "double" else (value or 0))
    tableNode.SetAndObserveTable(table)


def _remove_old_lines(segmentationNode) -> None:
    for node in slicer.util.getNodesByClass("vtkMRMLMarkupsLineNode"):
        if node.GetAttribute(LINES_ATTRIBUTE) == segmentationNode.GetID():
            remove_with_helpers(node)


def show_lesions(report: dict, segmentationNode):
    """Fill (or create) the lesion table and redraw the diameter lines of ``segmentationNode``.

    Returns ``(tableNode, lineNodes)``. Lines are ordinary markups, so the clinician can move
    their ends; re-measuring replaces them. One table per segmentation, found again by the
    node ID kept in the segmentation's attribute. The table's and the lines' names end with
    the run's suffix (``_1``, ``_2``: :func:`.names.run_suffix`), as the segmentation's does.
    """
    suffix = segmentationNode.GetAttribute(RUN_SUFFIX_ATTRIBUTE) or ""
    tableId = segmentationNode.GetAttribute(TABLE_ATTRIBUTE)
    tableNode = slicer.mrmlScene.GetNodeByID(tableId) if tableId else None
    if tableNode is None:
        tableNode = slicer.mrmlScene.AddNewNodeByClass(
            "vtkMRMLTableNode", result_part_name(segmentationNode.GetName(), suffix, "lesions"))
        segmentationNode.SetAttribute(TABLE_ATTRIBUTE, tableNode.GetID())
    _fill_table(tableNode, table_rows(report))
    _remove_old_lines(segmentationNode)
    lineNodes = []
    for line in diameter_lines(report):
        node = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsLineNode",
                                                  f"{line.name}{suffix}")
        node.SetAttribute(LINES_ATTRIBUTE, segmentationNode.GetID())
        node.AddControlPoint(*line.start)
        node.AddControlPoint(*line.end)
        node.SetAndObserveTransformNodeID(segmentationNode.GetTransformNodeID())
        display = node.GetDisplayNode()
        if display is not None:
            display.SetSelectedColor(*_COLOURS[line.kind])
        lineNodes.append(node)
    return tableNode, lineNodes


def _omnet_segments(segmentationNode) -> list[str]:
    """IDs of OMNet's three segments (found by their tag, else by name:
    :func:`.scene.omnet_segments`), in label order."""
    found = omnet_segments(segmentationNode.GetSegmentation())
    ids = [found.get(spec.key) for spec in SEGMENTS]
    missing = [spec.name for spec, segmentId in zip(SEGMENTS, ids) if not segmentId]
    if missing:
        raise RuntimeError(f"the segmentation has no segment {', '.join(missing)}; "
                           "lesions are measured on OMNet's three segments")
    return ids


def export_labelmap(segmentationNode, referenceVolume, path: str | os.PathLike) -> str:
    """Write OMNet's three segments as a 1/2/3 label map on the reference volume's grid, or
    on the segmentation's own grid when OMNet made it on the network's 1 mm grid.

    Both are whole grids. Without a reference volume Slicer's default extent is the box
    around the segments' voxels (EXTENT_UNION_OF_EFFECTIVE_SEGMENTS), which for a result
    with no tumour voxel is empty: no label map was written and measuring failed instead of
    finding no lesion (``vtkSegmentation::DetermineCommonLabelmapGeometry`` and
    ``GenerateMergedLabelmap``, v5.8.1 and v5.12.3).
    """
    segmentIds = vtk.vtkStringArray()
    for segmentId in _omnet_segments(segmentationNode):   # necrotic, edema, enhancing: 1, 2, 3
        segmentIds.InsertNextValue(segmentId)
    labelNode = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode")
    try:
        logic = slicer.modules.segmentations.logic()
        onNetworkGrid = segmentationNode.GetAttribute(GRID_ATTRIBUTE) == "network"
        if not logic.ExportSegmentsToLabelmapNode(segmentationNode, segmentIds, labelNode,
                                                  None if onNetworkGrid else referenceVolume,
                                                  EXTENT_REFERENCE_GEOMETRY):
            raise RuntimeError("Slicer could not export the segmentation to a label map")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        if not slicer.util.saveNode(labelNode, str(path)):
            raise RuntimeError(f"could not write the label map to {path}")
    finally:  # the export made a colour table for this label map only, as in Slicer's
        # own slicer.util.arrayFromSegmentBinaryLabelmap
        display = labelNode.GetDisplayNode()
        colour = display.GetColorNode() if display is not None else None
        remove_with_helpers(labelNode)
        if colour is not None and not colour.GetSingletonTag():
            slicer.mrmlScene.RemoveNode(colour)
    return str(path)


def measure_segmentation(segmentationNode, referenceVolume) -> dict:
    """Export the segmentation as it is now and measure it with omnet (no network)."""
    folder = Path(slicer.util.tempDirectory("OMNetMeasure"))
    try:
        return measure_labelmap_file(export_labelmap(segmentationNode, referenceVolume,
                                                     folder / "labels.nrrd"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
