"""The scene layer's display rules, against stand-ins that behave as Slicer's calls do.

``scene.py`` runs only inside Slicer; here ``slicer`` and ``vtk`` are small fakes that
follow the documented behaviour of the calls it makes (``slicer.util.setSliceViewerLayers``
sets every slice view's layer; a segment's ``GetTag`` fills a ``vtk.reference``). The same
rules are checked in real Slicer by the module's self-test (``selftest.run_scene_test``).
"""

from __future__ import annotations

import importlib
import json
import sys
import types

import pydicom
import pytest
from dicom_files import _pixels, _position, functional_groups, write_enhanced_mr
from mrml_standins import Reference, Segment, Segmentation

from omnet.data.acquisition import role_from_acquisition
from omnet.data.dicom import find_series


class Storage:
    def __init__(self, file_name):
        self.file_name = file_name

    def GetFileName(self):
        return self.file_name


class Volume:
    def __init__(self, node_id, attributes=None, file_name=None):
        self.node_id, self.attributes = node_id, dict(attributes or {})
        self.storage = Storage(file_name) if file_name is not None else None

    def GetID(self):
        return self.node_id

    def GetAttribute(self, name):
        return self.attributes.get(name)

    def GetStorageNode(self):
        return self.storage


class SliceComposite:
    def __init__(self, foreground):
        self.foreground = foreground

    def GetForegroundVolumeID(self):
        return self.foreground

    def SetForegroundVolumeID(self, node_id):
        self.foreground = node_id


class Display:
    visible3d = None

    def __init__(self):
        self.opacity3d = {}  # segment ID -> 3D opacity; vtkMRMLSegmentationDisplayNode: 1.0

    def SetVisibility3D(self, show):
        self.visible3d = show

    def SetSegmentOpacity3D(self, segment_id, opacity):
        self.opacity3d[segment_id] = opacity


class SegmentationNode:
    def __init__(self, segmentation=None, display=None):
        self.segmentation = segmentation or Segmentation()
        self.display = display
        self.surfaces = False

    def GetSegmentation(self):
        return self.segmentation

    def GetDisplayNode(self):
        return self.display

    def CreateDefaultDisplayNodes(self):
        self.display = self.display or Display()

    def CreateClosedSurfaceRepresentation(self):
        self.surfaces = True


@pytest.fixture
def world(monkeypatch):
    """Stand-in slicer/vtk, a fresh import of ``scene``, and the nodes of a small scene."""
    pet = Volume("vtkMRMLScalarVolumeNode7")
    attention = Volume("vtkMRMLScalarVolumeNode9", {"OMNet.Attention": "1"})
    nodes = {n.GetID(): n for n in (pet, attention)}
    composites = [SliceComposite(pet.GetID()), SliceComposite(attention.GetID()),
                  SliceComposite(None)]
    calls = []

    def set_layers(background="keep-current", foreground="keep-current", label="keep-current",
                   foregroundOpacity=None, labelOpacity=None, fit=False,
                   rotateToVolumePlane=False):
        """``slicer.util.setSliceViewerLayers``, keyword for keyword (5.8.1, 5.10.0, main):
        a keyword Slicer does not take is a TypeError here too."""
        calls.append((foreground, foregroundOpacity))
        for composite in composites:  # as slicer.util.setSliceViewerLayers does
            if foreground != "keep-current":
                composite.SetForegroundVolumeID(foreground.GetID() if foreground else None)

    slicer = types.ModuleType("slicer")
    slicer.util = types.SimpleNamespace(
        setSliceViewerLayers=set_layers,
        getNodesByClass=lambda name: composites if name == "vtkMRMLSliceCompositeNode" else [])
    slicer.mrmlScene = types.SimpleNamespace(GetNodeByID=nodes.get)
    vtk = types.ModuleType("vtk")
    vtk.reference = Reference
    monkeypatch.setitem(sys.modules, "slicer", slicer)
    monkeypatch.setitem(sys.modules, "vtk", vtk)
    monkeypatch.delitem(sys.modules, "OMNetSegmentationLib.scene", raising=False)
    scene = importlib.import_module("OMNetSegmentationLib.scene")
    yield types.SimpleNamespace(scene=scene, pet=pet, attention=attention,
                                composites=composites, calls=calls)
    sys.modules.pop("OMNetSegmentationLib.scene", None)


def test_no_attention_map_keeps_the_users_own_overlay(world):
    world.scene.show_attention(None, 0.5)
    assert [c.GetForegroundVolumeID() for c in world.composites] == [
        world.pet.GetID(), None, None]
    assert world.calls == []  # never setSliceViewerLayers(foreground=None)


def test_a_chosen_attention_map_is_overlaid_with_its_opacity(world):
    world.scene.show_attention(world.attention, 0.3)
    assert world.calls == [(world.attention, 0.3)]
    assert {c.GetForegroundVolumeID() for c in world.composites} == {world.attention.GetID()}


def test_show_in_3d_on_a_segmentation_without_display_node(world):
    node = SegmentationNode(display=None)
    world.scene.set_visibility_3d(node, True)
    assert node.display.visible3d is True and node.surfaces
    world.scene.set_visibility_3d(node, False)
    assert node.display.visible3d is False


def test_segments_keep_their_names_and_colours_when_the_terminology_changes(world):
    kept = Segment({"OMNet.Segment": "edema"})
    node = SegmentationNode(Segmentation({"mine": Segment(), "old_edema": kept}))
    ids = world.scene._omnet_segment_ids(node)
    assert len(ids) == 3 and ids[1] == "old_edema"
    omnet = [node.segmentation.GetSegment(i) for i in ids]
    assert [(s.name_auto, s.color_auto) for s in omnet] == [(False, False)] * 3
    assert node.segmentation.GetSegment("mine").name_auto  # not OMNet's: untouched
    assert omnet[0].tags["TerminologyEntry"].count("~") == 6


def test_segments_are_exported_to_dicom_seg_as_omnets_automatic_result(world):
    # Slicer's DICOM SEG export (Modules/Scripted/DICOMPlugins/DICOMSegmentationPlugin.py,
    # _createSegmentData; QIICR/QuantitativeReporting for 5.8 and 5.10) reads these two tags
    # and writes MANUAL without them; DICOM PS3.3 C.8.20.2: AUTOMATIC needs a name (LO, <= 64)
    edited = Segment({"OMNet.Segment": "edema", "DICOM.SegmentAlgorithmType": "SEMIAUTOMATIC",
                      "DICOM.SegmentAlgorithmName": "3D Slicer 5.8.1"})
    node = SegmentationNode(Segmentation({"old_edema": edited}))
    ids = world.scene._omnet_segment_ids(node)
    for segment in (node.segmentation.GetSegment(i) for i in ids):
        assert segment.tags["DICOM.SegmentAlgorithmType"] == "AUTOMATIC"  # a new result again
        name = segment.tags["DICOM.SegmentAlgorithmName"]
        assert name.startswith("OMNet ") and len(name) <= 64


def test_a_result_loaded_back_from_dicom_seg_is_updated_in_place(world):
    # QIICR/QuantitativeReporting DICOMPlugins/DICOMSegmentationPlugin.py (load): each
    # segment gets its name from the Segment Label, its terminology and the two
    # DICOM.SegmentAlgorithm tags; Slicer's own OMNet.Segment tag is not in a DICOM SEG
    names = [spec.name for spec in world.scene.SEGMENTS]
    loaded = {f"seg_{i}": Segment({"DICOM.SegmentAlgorithmType": "AUTOMATIC"}, name)
              for i, name in enumerate(names, start=1)}
    node = SegmentationNode(Segmentation({"mine": Segment(name="Tumor"), **loaded}))
    ids = world.scene._omnet_segment_ids(node)
    assert ids == ["seg_1", "seg_2", "seg_3"]  # no second set of segments of the same names
    assert node.segmentation.GetNumberOfSegments() == 4
    assert [node.segmentation.GetSegment(i).tags["OMNet.Segment"] for i in ids] == [
        "necrotic", "edema", "enhancing"]
    assert "OMNet.Segment" not in node.segmentation.GetSegment("mine").tags


class LabelNode(Volume):
    """What ``slicer.util.loadLabelVolume`` returns: a label volume without helpers."""

    transform = None

    def SetAndObserveTransformNodeID(self, node_id):
        self.transform = node_id

    def GetNumberOfDisplayNodes(self):
        return 0

    def GetStorageNode(self):
        return None


class ImportTarget(SegmentationNode):
    """A segmentation node that records the geometry calls of an import."""

    ROLE = "referenceImageGeometryRef"  # vtkMRMLSegmentationNode's role name

    def __init__(self):
        super().__init__(display=Display())
        self.geometry_from = self.reference = self.transform = None
        self.attributes = {}

    def SetAndObserveTransformNodeID(self, node_id):
        self.transform = node_id

    def SetReferenceImageGeometryParameterFromVolumeNode(self, volume):
        self.geometry_from = volume  # sets the geometry, then the reference to that volume
        self.reference = volume.GetID()

    def GetReferenceImageGeometryReferenceRole(self):
        return self.ROLE

    def SetNodeReferenceID(self, role, node_id):
        assert role == self.ROLE
        self.reference = node_id

    def SetAttribute(self, name, value):
        self.attributes[name] = value


@pytest.fixture
def importing(world, monkeypatch):
    """``import_segmentation`` against an existing target, with the label map it loads."""
    slicer = sys.modules["slicer"]
    label = LabelNode("vtkMRMLLabelMapVolumeNode3")
    imported, removed = [], []
    slicer.util.loadLabelVolume = lambda path, properties: label
    slicer.mrmlScene.RemoveNode = removed.append

    class Logic:
        def ImportLabelmapToSegmentationNode(self, labelNode, segmentationNode, ids):
            imported.append((labelNode, segmentationNode, ids.values))
            return True

    slicer.modules = types.SimpleNamespace(segmentations=types.SimpleNamespace(logic=Logic))

    class StringArray:
        def __init__(self):
            self.values = []

        def InsertNextValue(self, value):
            self.values.append(value)

    sys.modules["vtk"].vtkStringArray = StringArray
    t1c = Volume("vtkMRMLScalarVolumeNode1")
    t1c.GetTransformNodeID = lambda: "vtkMRMLLinearTransformNode4"
    return types.SimpleNamespace(scene=world.scene, label=label, t1c=t1c, imported=imported,
                                 removed=removed)


@pytest.mark.parametrize("network", [False, True])
def test_the_segments_geometry_is_the_t1cs_or_the_network_grids(importing, network):
    target = ImportTarget()
    node = importing.scene.import_segmentation("labels.nii.gz", importing.t1c, "OMNet",
                                               target=target, onNetworkGrid=network)
    assert node is target and len(importing.imported) == 1
    assert len(importing.imported[0][2]) == 3  # OMNet's three segments, labels 1, 2, 3
    # the geometry Segment Editor edits on: the label map's 1 mm grid, or the T1c's
    assert target.geometry_from is (importing.label if network else importing.t1c)
    assert target.reference == importing.t1c.GetID()  # the T1c stays the reference volume
    assert target.attributes["OMNet.Grid"] == ("network" if network else "reference")
    assert importing.label.transform == target.transform == "vtkMRMLLinearTransformNode4"
    assert importing.removed == [importing.label]  # the loaded label map does not stay


class VolumeDisplay:
    """A scalar volume display node: auto window/level on, as after ``loadVolume``."""

    def __init__(self):
        self.color, self.auto, self.window = None, 1, None

    def SetAndObserveColorNodeID(self, node_id):
        self.color = node_id

    def SetAutoWindowLevel(self, value):
        self.auto = value

    def SetWindowLevelMinMax(self, low, high):
        self.window = (low, high)


class LoadedVolume(LabelNode):
    def __init__(self, node_id):
        super().__init__(node_id)
        self.display = VolumeDisplay()

    def SetAttribute(self, name, value):
        self.attributes[name] = value

    def GetDisplayNode(self):
        return self.display


def test_guidance_maps_are_shown_on_a_fixed_probability_window(world):
    # Pt and Pn are sums of a softmax (omnet/model/cga.py): probabilities, 0 to 1. Slicer's
    # auto window (0.1-99.9th percentiles, vtkMRMLScalarVolumeDisplayNode::CalculateAutoLevels)
    # would shrink to a sliver near 0 or 1 on a small tumour
    slicer = sys.modules["slicer"]
    loaded = []

    def load_volume(path, properties):
        loaded.append(LoadedVolume(f"vtkMRMLScalarVolumeNode{len(loaded) + 20}"))
        return loaded[-1]

    hierarchy = types.SimpleNamespace(
        GetItemByDataNode=lambda node: 5, GetItemParent=lambda item: 1,
        CreateFolderItem=lambda parent, name: 7, SetItemParent=lambda item, parent: None)
    slicer.util.loadVolume = load_volume
    slicer.vtkMRMLSubjectHierarchyNode = types.SimpleNamespace(
        GetSubjectHierarchyNode=lambda scene: hierarchy)
    t1c = LabelNode("vtkMRMLScalarVolumeNode1")
    t1c.GetTransformNodeID = lambda: None
    world.scene.load_attention_maps(["/a/cga_tumour_pt.nii.gz", "/a/cga_core_pn.nii.gz",
                                     "/a/cga_core_top_channel.nii.gz"], t1c, "maps")
    pt, pn, channel = (node.display for node in loaded)
    assert (pt.auto, pt.window) == (0, (0.0, 1.0))
    assert (pn.auto, pn.window) == (0, (0.0, 1.0))
    assert (channel.auto, channel.window) == (1, None)  # feature values: no fixed range
    assert {d.color for d in (pt, pn, channel)} == {"vtkMRMLPETProceduralColorNodePET-Heat"}


def test_the_edema_around_the_core_is_see_through_in_3d(importing):
    # the edema wraps the tumour core (whole tumour = core + edema): opaque, its surface hides
    # the necrotic core and the enhancing rim in the 3D view
    target = ImportTarget()
    importing.scene.import_segmentation("labels.nii.gz", importing.t1c, "OMNet", target=target)
    necrotic, edema, enhancing = importing.imported[0][2]  # labels 1, 2, 3
    opacity = target.display.opacity3d
    assert opacity[edema] <= 0.5
    assert opacity.get(necrotic, 1.0) == opacity.get(enhancing, 1.0) == 1.0


class DicomDatabase:
    """``slicer.dicomDatabase``: file per instance UID, tag values ("gggg,eeee") per file."""

    def __init__(self, values):
        self.values = values

    def fileForInstance(self, uid):
        return f"/db/{uid}.dcm"

    def fileValue(self, path, tag):
        assert path == "/db/1.2.3.dcm", "the first instance's file is read"
        return self.values.get(tag, "")


def test_a_dicom_volume_gets_the_role_its_acquisition_says(world):
    flair = {"0018,0080": "9000", "0018,0081": "81", "0018,0082": "2500", "0018,0020": "SE\\IR"}
    sys.modules["slicer"].dicomDatabase = DicomDatabase(flair)
    node = Volume("vtkMRMLScalarVolumeNode5", {"DICOM.instanceUIDs": "1.2.3 1.2.4"})
    assert world.scene.acquisition_role(node) == "flair"
    assert world.scene.acquisition_role(Volume("vtkMRMLScalarVolumeNode6")) is None  # no DICOM
    sys.modules["slicer"].dicomDatabase = DicomDatabase({"0018,0081": "81"})  # no TR
    assert world.scene.acquisition_role(node) is None


class FileDatabase:
    """``slicer.dicomDatabase`` over real files: the file of an instance UID, and a tag's
    value from the file's top-level data set only, as ctkDICOMDatabase's ``fileValue`` reads
    it (DCMTK, no search into sequences): each value as text, several joined by a backslash
    (``ctkDICOMItem::GetAllElementValuesAsString``, CTK of Slicer 5.8.1 to main); "" where the
    top level lacks it."""

    def __init__(self, files):
        self.files = files

    def fileForInstance(self, uid):
        return str(self.files[uid])

    def fileValue(self, path, tag):
        element = pydicom.dcmread(path, stop_before_pixels=True).get(
            int(tag.replace(",", ""), 16))
        if element is None or element.VM == 0:
            return ""
        values = element.value if element.VM > 1 else [element.value]
        return "\\".join(str(value) for value in values)


#: TR, TE, TI (ms), Echo Pulse Sequence, contrast given -> the role they give by
#: omnet.data.acquisition's rules: TI 2500 >= 1500 with TE 120 >= 60 a FLAIR; a gradient echo
#: with TE 3 <= 10 and TI 900 in 300-1300 a T1, with the agent given a T1c; no inversion,
#: TR 5000 >= 1500, TE 100 >= 60 a T2.
ENHANCED_SERIES = {"flair": (9000.0, 120.0, 2500.0, "SPIN", False),
                   "t1ce": (2000.0, 3.0, 900.0, "GRADIENT", True),
                   "t2": (5000.0, 100.0, None, "SPIN", False)}


def test_an_enhanced_mr_volume_gets_the_role_its_functional_groups_say(world, tmp_path):
    """An anonymised Enhanced MR file keeps TR, TE, TI and the contrast agent in its
    functional groups, which the DICOM database's top-level tags lack: before, no role; now
    the one ``omnet segment`` gives the same series (its DICOM folder reading)."""
    files = {}
    for number, (role, (tr, te, ti, echo, given)) in enumerate(ENHANCED_SERIES.items(), 1):
        files[f"1.2.3.9.{number}"] = path = tmp_path / role / "IM0001"
        path.parent.mkdir()
        write_enhanced_mr(path, _pixels(3), [_position(k) for k in range(3)],
                          header={"SOPInstanceUID": f"1.2.3.9.{number}",
                                  "EchoPulseSequence": echo},
                          shared=functional_groups(tr, te, ti, given))
    sys.modules["slicer"].dicomDatabase = FileDatabase(files)
    for number, role in enumerate(ENHANCED_SERIES, 1):
        node = Volume(f"vtkMRMLScalarVolumeNode{number}",
                      {"DICOM.instanceUIDs": f"1.2.3.9.{number}"})
        assert world.scene.acquisition_role(node) == role
        series, = find_series(tmp_path / role)
        assert role_from_acquisition(series.acquisition) == role  # omnet segment's answer


def test_an_enhanced_mr_subtraction_gets_no_role_as_in_omnet_segment(world, tmp_path):
    """A subtraction series (Image Type DERIVED\\PRIMARY\\SUB, a T1c's TR, TE, TI and agent in
    its functional groups) is derived: Slicer's database gives its Image Type as those words
    joined by backslashes, so it gets no role, as ``omnet segment`` gives it none."""
    path = tmp_path / "sub" / "IM0001"
    path.parent.mkdir()
    tr, te, ti, echo, given = ENHANCED_SERIES["t1ce"]
    write_enhanced_mr(path, _pixels(3), [_position(k) for k in range(3)],
                      header={"SOPInstanceUID": "1.2.3.9.9", "EchoPulseSequence": echo,
                              "ImageType": ["DERIVED", "PRIMARY", "SUB", "NONE"]},
                      shared=functional_groups(tr, te, ti, given))
    series, = find_series(path.parent)
    assert role_from_acquisition(series.acquisition) is None  # omnet segment's answer
    sys.modules["slicer"].dicomDatabase = FileDatabase({"1.2.3.9.9": path})
    node = Volume("vtkMRMLScalarVolumeNode9", {"DICOM.instanceUIDs": "1.2.3.9.9"})
    assert world.scene.acquisition_role(node) is None


def test_a_volume_from_a_file_gets_the_role_its_dcm2niix_sidecar_says(world, tmp_path):
    (tmp_path / "series_0004.json").write_text(json.dumps(
        {"RepetitionTime": 9, "EchoTime": 0.081, "InversionTime": 2.5}))  # seconds
    (tmp_path / "series_0005.json").write_text(json.dumps({"SeriesDescription": "AX T1 POST"}))
    scene = world.scene
    assert scene.acquisition_role(Volume("n1", file_name=str(tmp_path / "series_0004.nii.gz"))) \
        == "flair"
    assert scene.acquisition_role(Volume("n2", file_name=str(tmp_path / "series_0005.nrrd"))) \
        == "t1ce"
    assert scene.acquisition_role(Volume("n3", file_name=str(tmp_path / "other.nii.gz"))) is None
    assert scene.acquisition_role(Volume("n4", file_name="")) is None  # created, not loaded


def test_channel_files_take_the_order_of_the_dataset_json_beside_or_above(world, tmp_path):
    """nnU-Net's Dataset137 names T1, T1ce, T2, FLAIR in the dataset folder, above imagesTs/;
    a file with no dataset.json near is read in MSD's order (FLAIR, T1w, T1gd, T2w)."""
    (tmp_path / "Dataset137" / "imagesTs").mkdir(parents=True)
    (tmp_path / "Dataset137" / "dataset.json").write_text(json.dumps(
        {"channel_names": {"0": "T1", "1": "T1ce", "2": "T2", "3": "Flair"}}))
    (tmp_path / "msd").mkdir()
    nnunet = Volume("n1", file_name=str(tmp_path / "Dataset137" / "imagesTs" / "B_0000.nii.gz"))
    assert world.scene.channel_order(nnunet) == ("t1", "t1ce", "t2", "flair")
    plain = Volume("n2", file_name=str(tmp_path / "msd" / "B_0000.nii.gz"))
    assert world.scene.channel_order(plain) == ("flair", "t1", "t1ce", "t2")
    assert world.scene.channel_order(Volume("n3")) == ("flair", "t1", "t1ce", "t2")  # no file


class Scene:
    """``slicer.mrmlScene`` naming as in ``Libs/MRML/Core/vtkMRMLScene.cxx`` (5.8-5.12):
    ``AddNewNodeByClass(cls, name)`` keeps ``name`` as it is (only an unnamed node gets a
    generated one); ``GenerateUniqueName(base)`` tries ``base``, ``base_1``, ``base_2`` ...
    from one above the index it last gave for ``base`` and returns the first name no node has.
    ``RemoveNode`` takes the node out, and its subject hierarchy item with it.
    """

    def __init__(self, removed, hierarchy):
        self.nodes, self.given, self.removed, self.hierarchy = [], {}, removed, hierarchy

    def RemoveNode(self, node):
        self.removed.append(node)
        if node in self.nodes:
            self.nodes.remove(node)
        self.hierarchy.forget(node)

    def GenerateUniqueName(self, base):
        index = self.given.get(base, -1) + 1
        while any(node.GetName() == (f"{base}_{index}" if index else base)
                  for node in self.nodes):
            index += 1
        self.given[base] = index
        return f"{base}_{index}" if index else base

    def AddNewNodeByClass(self, class_name, name):
        node = {"vtkMRMLSegmentationNode": Result, "vtkMRMLTableNode": Named,
                "vtkMRMLMarkupsLineNode": Line}[class_name](f"{class_name}{len(self.nodes)}")
        node.name = name
        self.nodes.append(node)
        return node

    def GetNodeByID(self, node_id):
        return next((node for node in self.nodes if node.GetID() == node_id), None)


class Named(LoadedVolume):
    """A table (or loaded volume) node that keeps its name and attributes."""

    def __init__(self, node_id, name=""):
        super().__init__(node_id)
        self.name = name

    def GetName(self):
        return self.name


class LineDisplay:
    def SetSelectedColor(self, r, g, b):
        """vtkMRMLDisplayNode::SetSelectedColor(double, double, double) (or one 3-vector)."""


class Line(Named):
    def __init__(self, node_id, name=""):
        super().__init__(node_id, name)
        self.points = []

    def AddControlPoint(self, x, y, z, label=""):
        """vtkMRMLMarkupsNode::AddControlPoint(double x, double y, double z, std::string label)
        returns the new point's index (5.8.1 Modules/Loadable/Markups/MRML, main Libs/MRML/Core)."""
        self.points.append((float(x), float(y), float(z)))
        return len(self.points) - 1

    def GetDisplayNode(self):
        return LineDisplay()


class ShownDisplay(Display):
    def SetVisibility(self, show):
        pass

    SetVisibility2D = SetVisibility


class Result(ImportTarget):
    """A new segmentation node: what ``AddNewNodeByClass("vtkMRMLSegmentationNode")`` gives."""

    def __init__(self, node_id):
        super().__init__()
        self.node_id, self.name, self.display = node_id, "", ShownDisplay()

    GetID, GetAttribute, GetName = Volume.GetID, Volume.GetAttribute, Named.GetName

    def GetTransformNodeID(self):
        return self.transform


class Hierarchy:
    """The subject hierarchy as the module's calls see it: items with a parent, a level and a
    name; a node's item is made under the study (item 1) when first asked for, and goes when
    the scene removes the node (``qSlicerSubjectHierarchyPluginLogic::onNodeAboutToBeRemoved``
    removes it, Slicer 5.8.1)."""

    def __init__(self):
        self.parent, self.level, self.name, self.item_of = {1: 0}, {1: "Study"}, {1: ""}, {}
        self.created = []  # the names of the folders made, in order

    def _add(self, parent, level, name):
        item = len(self.level) + 1
        self.parent[item], self.level[item], self.name[item] = parent, level, name
        return item

    def GetItemByDataNode(self, node):
        if node.GetID() not in self.item_of:
            self.item_of[node.GetID()] = self._add(1, "", node.GetID())
        return self.item_of[node.GetID()]

    def GetItemParent(self, item):
        return self.parent[item]

    def SetItemParent(self, item, parent):
        self.parent[item] = parent

    def GetItemAncestorAtLevel(self, item, level):
        return 0

    def CreateFolderItem(self, parent, name):
        self.created.append(name)
        return self._add(parent, "Folder", name)

    def GetItemLevel(self, item):
        return self.level[item]

    def GetNumberOfItemChildren(self, item):
        return sum(parent == item for parent in self.parent.values())

    def RemoveItem(self, item):
        del self.parent[item]

    def forget(self, node):
        item = self.item_of.pop(node.GetID(), None)
        if item is not None:
            self.RemoveItem(item)

    def folders(self):
        """The folders still in the tree: name -> the names of what they hold."""
        return {self.name[f]: sorted(self.name[i] for i, p in self.parent.items() if p == f)
                for f in self.parent if self.level[f] == "Folder"}


@pytest.fixture
def runs(importing, monkeypatch, tmp_path):
    """Segmentation runs on one case against stand-in scene and hierarchy: ``run(target)``
    imports a result with one attention map (into ``target`` when given: "update existing")
    and shows its lesions; it returns the run's result and its table and lines."""
    slicer, vtk = sys.modules["slicer"], sys.modules["vtk"]
    vtk.vtkIntArray = vtk.vtkDoubleArray = vtk.vtkStringArray
    monkeypatch.setitem(sys.modules, "qt", types.ModuleType("qt"))  # no job is started here
    for name in ("logic", "lesionscene"):  # fresh imports on this test's scene, dropped after
        monkeypatch.setitem(sys.modules, f"OMNetSegmentationLib.{name}", None)
        monkeypatch.delitem(sys.modules, f"OMNetSegmentationLib.{name}")
    logic = importlib.import_module("OMNetSegmentationLib.logic")
    lesionscene = importlib.import_module("OMNetSegmentationLib.lesionscene")
    monkeypatch.setattr(lesionscene, "_fill_table", lambda node, rows: None)
    hierarchy = Hierarchy()
    scene = slicer.mrmlScene = Scene(importing.removed, hierarchy)
    slicer.vtkMRMLSubjectHierarchyNode = types.SimpleNamespace(
        GetSubjectHierarchyNode=lambda mrmlScene: hierarchy)
    slicer.vtkMRMLSubjectHierarchyConstants = types.SimpleNamespace(
        GetDICOMLevelPatient=lambda: "Patient", GetSubjectHierarchyLevelFolder=lambda: "Folder")

    def load_volume(path, properties):
        scene.nodes.append(Named(f"vtkMRMLScalarVolumeNode{len(scene.nodes) + 10}",
                                 properties["name"]))
        return scene.nodes[-1]

    slicer.util.loadVolume = load_volume
    slicer.util.getNodesByClass = lambda name: [n for n in scene.nodes
                                                if n.GetID().startswith(name)]
    t1c = importing.t1c
    t1c.GetName = lambda: "Brats18_x_t1ce"
    volumes = {role: types.SimpleNamespace(GetName=lambda role=role: f"Brats18_x_{role}")
               for role in ("flair", "t1", "t2")}
    report = {"regions": {"enhancing": [{
        "index": 1, "centre_ras_mm": [0, 0, 0], "volume_ml": 1.0, "max_diameter_mm": 12.0,
        "rano": {"measurable": True, "long_mm": 12.0, "perpendicular_mm": 10.0,
                 "product_mm2": 120.0, "long_axis_ras_mm": [[-6, 0, 0], [6, 0, 0]],
                 "perpendicular_axis_ras_mm": [[0, -5, 0], [0, 5, 0]]}}]}}

    def run(target=None):
        segmentation_run = object.__new__(logic.SegmentationRun)
        segmentation_run.volumes = {**volumes, "t1ce": t1c}
        segmentation_run.target, segmentation_run.show3D = target, False
        segmentation_run.options = types.SimpleNamespace(attention=True)
        segmentation_run.workdir = tmp_path
        result = segmentation_run._import(
            types.SimpleNamespace(result={"attention": ["cga_core_pt.nii.gz"]}))
        return (result, *lesionscene.show_lesions(report, result.segmentation))

    return types.SimpleNamespace(run=run, scene=scene, hierarchy=hierarchy)


def test_each_run_names_its_nodes_apart_with_one_suffix(runs):
    """Three runs on one case, none updating an earlier result: each run's segmentation,
    lesion table, diameter lines, attention folder and maps end with that run's suffix
    (none, _1, _2), as Slicer numbers its own duplicates."""
    names = []
    for _ in range(3):
        result, table, lines = runs.run()
        names.append([result.segmentation.GetName(), table.GetName(),
                      *(line.GetName() for line in lines),
                      *(node.GetName() for node in result.attention)])
    assert names == [
        ["Brats18_x OMNet tumour", "Brats18_x OMNet tumour lesions", "ET 1 longest",
         "ET 1 perpendicular", "OMNet core guidance Pt (CGA-core)"],
        ["Brats18_x OMNet tumour_1", "Brats18_x OMNet tumour lesions_1", "ET 1 longest_1",
         "ET 1 perpendicular_1", "OMNet core guidance Pt (CGA-core)_1"],
        ["Brats18_x OMNet tumour_2", "Brats18_x OMNet tumour lesions_2", "ET 1 longest_2",
         "ET 1 perpendicular_2", "OMNet core guidance Pt (CGA-core)_2"]]
    # each RANO line runs between the ends the report gives, in RAS (x, y, z)
    assert [line.points for line in lines] == [[(-6.0, 0.0, 0.0), (6.0, 0.0, 0.0)],
                                                [(0.0, -5.0, 0.0), (0.0, 5.0, 0.0)]]
    assert runs.hierarchy.created == ["Brats18_x OMNet tumour attention maps",
                                      "Brats18_x OMNet tumour attention maps_1",
                                      "Brats18_x OMNet tumour attention maps_2"]
    assert len(runs.hierarchy.folders()) == 3  # other results' maps are left alone


def test_a_result_updated_three_times_shows_one_set_of_attention_maps(runs):
    """"Update existing": each run's maps replace the ones the earlier run loaded for that
    segmentation, and the emptied folder goes; before, three maps and three folders."""
    first, _, _ = runs.run()
    for _ in range(3):
        last, _, _ = runs.run(target=first.segmentation)
    maps = [node for node in runs.scene.nodes if node.GetAttribute("OMNet.Attention")]
    assert maps == last.attention and len(maps) == 1
    assert maps[0].GetName() == "OMNet core guidance Pt (CGA-core)"
    assert runs.hierarchy.folders() == {"Brats18_x OMNet tumour attention maps": [maps[0].GetID()]}
