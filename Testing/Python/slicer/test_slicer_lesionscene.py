"""Measure lesions on a result: the label map Slicer exports for omnet's measurement.

The stand-in export mirrors ``vtkSlicerSegmentationsModuleLogic::ExportSegmentsToLabelmapNode``
without a reference volume (a result on the network's 1 mm grid), as read at v5.8.1 and
v5.12.3: the n-th listed segment gets label n; the grid is the segmentation's reference
geometry, over its whole extent with EXTENT_REFERENCE_GEOMETRY (0) and over the box of the
segments' non-zero voxels with the default EXTENT_UNION_OF_EFFECTIVE_SEGMENTS (3), which is
empty when no voxel is set (``vtkSegmentation::DetermineCommonLabelmapGeometry``,
``GenerateMergedLabelmap``), so no image is made and nothing can be saved.
"""

from __future__ import annotations

import importlib
import sys
import types

import numpy as np
import pytest
import SimpleITK as sitk
from mrml_standins import Reference, Segment, Segmentation

EXTENT_UNION_OF_EFFECTIVE_SEGMENTS = 3  # Libs/vtkSegmentationCore/vtkSegmentation.h enum


class NetworkGridResult:
    """A result OMNet made on its 1 mm grid (``OMNet.Grid`` = network)."""

    def __init__(self, segments, shape):
        self.segmentation, self.shape = Segmentation(segments), shape

    def GetSegmentation(self):
        return self.segmentation

    def GetAttribute(self, name):
        return "network" if name == "OMNet.Grid" else None


class LabelNode:
    labels = None  # no image until an export makes one

    def GetDisplayNode(self):
        return None

    def GetNumberOfDisplayNodes(self):
        return 0

    def GetStorageNode(self):
        return None


class Logic:
    def ExportSegmentsToLabelmapNode(self, node, ids, labelNode, reference,
                                     extent=EXTENT_UNION_OF_EFFECTIVE_SEGMENTS):
        assert reference is None  # a network-grid result: the segmentation's own geometry
        labels = np.zeros(node.shape, np.int16)
        for value, segment_id in enumerate(ids.values, start=1):
            labels[node.segmentation.GetSegment(segment_id).voxels] = value
        if extent == EXTENT_UNION_OF_EFFECTIVE_SEGMENTS:
            box = np.nonzero(labels)
            if not box[0].size:
                return True  # an empty extent: the label node gets no image
            labels = labels[tuple(slice(v.min(), v.max() + 1) for v in box)]
        labelNode.labels = labels
        return True


@pytest.fixture
def lesionscene(monkeypatch, tmp_path):
    saved = []

    def save_node(node, path):
        if node.labels is None or not node.labels.size:
            return False  # vtkMRMLVolumeArchetypeStorageNode writes no empty image
        sitk.WriteImage(sitk.GetImageFromArray(node.labels.astype(np.uint8)), path)
        saved.append(node.labels.shape)
        return True

    slicer = types.ModuleType("slicer")
    slicer.util = types.SimpleNamespace(tempDirectory=lambda key: str(tmp_path / key),
                                        saveNode=save_node)
    slicer.mrmlScene = types.SimpleNamespace(AddNewNodeByClass=lambda cls: LabelNode(),
                                             RemoveNode=lambda node: None)
    slicer.modules = types.SimpleNamespace(segmentations=types.SimpleNamespace(logic=Logic))
    vtk = types.ModuleType("vtk")
    vtk.reference = Reference
    vtk.vtkStringArray = type("StringArray", (), {
        "__init__": lambda self: setattr(self, "values", []),
        "InsertNextValue": lambda self, value: self.values.append(value)})
    vtk.vtkIntArray = vtk.vtkDoubleArray = object
    monkeypatch.setitem(sys.modules, "slicer", slicer)
    monkeypatch.setitem(sys.modules, "vtk", vtk)
    for name in ("scene", "lesionscene"):
        monkeypatch.delitem(sys.modules, f"OMNetSegmentationLib.{name}", raising=False)
    module = importlib.import_module("OMNetSegmentationLib.lesionscene")
    yield types.SimpleNamespace(module=module, saved=saved)
    for name in ("scene", "lesionscene"):
        sys.modules.pop(f"OMNetSegmentationLib.{name}", None)


@pytest.mark.parametrize("tumour", [False, True])
def test_a_network_grid_result_is_measured_on_its_whole_grid(lesionscene, tumour):
    shape = (30, 40, 40)
    enhancing = np.zeros(shape, bool)
    if tumour:
        enhancing[10:20, 10:22, 12:24] = True
    segments = {}
    for spec in lesionscene.module.SEGMENTS:
        segments[spec.key] = Segment({"OMNet.Segment": spec.key}, spec.name)
        segments[spec.key].voxels = enhancing if spec.key == "enhancing" else np.zeros(shape,
                                                                                     bool)
    report = lesionscene.module.measure_segmentation(NetworkGridResult(segments, shape), None)
    assert lesionscene.saved == [shape]  # the whole 1 mm grid, with or without a tumour
    assert len(report["regions"]["enhancing"]) == (1 if tumour else 0)
    assert report["volumes_ml"]["enhancing"] == pytest.approx(10 * 12 * 12 / 1000 if tumour
                                                              else 0.0)
