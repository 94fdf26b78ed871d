"""MRML side of a run (Slicer only): write inputs, build the segmentation, show results.

Nothing here is called before the child process has succeeded, except writing the inputs
with stand-alone storage nodes, so a failed or cancelled run leaves the scene untouched.
Every call is listed, with where it was checked, in ``SLICER_API.md``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import slicer
import vtk

from omnet import __version__ as omnet_version
from omnet.data.acquisition import ACQUISITION_TAGS, Acquisition, role_from_acquisition
from omnet.data.enhanced_mr import SOP_CLASS, file_acquisition
from omnet.data.sidecar import read_sidecar

from .names import RUN_SUFFIX_ATTRIBUTE, attention_title, attention_window, run_suffix
from .roles import file_channels
from .segments import (
    GRID_ATTRIBUTE,
    SEGMENT_TAG,
    SEGMENTS,
    algorithm_tags,
    match_segments,
    terminology_entry,
)

__all__ = ["ATTENTION_ATTRIBUTE", "acquisition_role", "channel_order", "import_segmentation",
           "load_attention_maps", "omnet_segments", "patient_name", "patient_of", "place_next_to",
           "remove_attention_maps", "remove_with_helpers", "series_frames", "set_visibility_3d",
           "show_attention", "show_segmentation", "store_volumes", "write_volumes"]

ATTENTION_ATTRIBUTE = "OMNet.Attention"
#: On each attention map: the ID of the segmentation node whose run loaded it.
ATTENTION_OWNER_ATTRIBUTE = "OMNet.AttentionOf"
HEAT_COLOR_NODE_ID = "vtkMRMLPETProceduralColorNodePET-Heat"
VOLUME_ATTRIBUTE_PREFIX = "OMNet.VolumeML."


def voxel_arrays(volumes: Mapping[str, object]) -> dict:
    """Role -> (voxels (k, j, i), spacing (i, j, k)) of each volume node, without a copy:
    what :func:`skullcheck.inputs_look_stripped` reads."""
    return {role: (slicer.util.arrayFromVolume(node), tuple(node.GetSpacing()))
            for role, node in volumes.items()}


def write_volumes(volumes: Mapping[str, object], folder: str | os.PathLike) -> dict[str, str]:
    """Write each volume node to ``folder/<role>.nrrd`` without changing the node itself."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    paths = {}
    for role, volumeNode in volumes.items():
        path = str(Path(folder) / f"{role}.nrrd")
        storageNode = slicer.mrmlScene.CreateNodeByClass("vtkMRMLVolumeArchetypeStorageNode")
        try:
            storageNode.SetFileName(path)
            storageNode.UseCompressionOff()
            if not storageNode.WriteData(volumeNode):
                raise RuntimeError(f"could not write {volumeNode.GetName()} to {path}")
        finally:
            storageNode.UnRegister(None)
        paths[role] = path
    return paths


def series_frames(volumeNode) -> int:
    """How many frames the volume stands for: a 4D series (DCE, DWI, fMRI loaded from DICOM,
    a multi-volume NRRD) is a Sequence whose proxy node, a plain scalar volume, shows one
    frame at a time; the number of frames of that sequence, else 1 (a volume of its own).

    The browser node is found as ``vtkSlicerSequencesLogic::GetFirstBrowserNodeForProxyNode``
    finds it (every ``vtkMRMLSequenceBrowserNode``, ``IsProxyNodeID``), without the
    Sequences module's logic: where that module is not loaded there is no browser node."""
    nodeId = volumeNode.GetID()
    for browserNode in slicer.util.getNodesByClass("vtkMRMLSequenceBrowserNode"):
        if browserNode.IsProxyNodeID(nodeId):
            sequenceNode = browserNode.GetSequenceNode(volumeNode)
            return sequenceNode.GetNumberOfDataNodes() if sequenceNode is not None else 1
    return 1


def acquisition_role(volumeNode) -> str | None:
    """The sequence a volume loaded from DICOM is by its acquisition parameters (TR, TE, TI,
    ...: :mod:`omnet.data.acquisition`), read from its first file in Slicer's DICOM
    database; for a volume loaded from a file, what the JSON sidecar dcm2niix wrote beside it
    says (:mod:`omnet.data.sidecar`); None when neither can say."""
    uids = (volumeNode.GetAttribute("DICOM.instanceUIDs") or "").split()
    if not uids:
        return _sidecar_role(volumeNode)
    database = getattr(slicer, "dicomDatabase", None)
    if database is None:
        return None
    try:
        return role_from_acquisition(_database_acquisition(database, uids[0]))
    except Exception:  # a closed or moved database must not stop role detection
        return None


def _database_acquisition(database, uid: str) -> Acquisition:
    """The acquisition parameters of the instance ``uid``'s file: its top-level tags as
    Slicer's DICOM database reads them, and for an Enhanced MR file (whose TR, TE and TI lie
    in functional groups the database does not read) those of its functional groups, read
    with pydicom by the rule ``omnet segment`` uses (:func:`.enhanced_mr.file_acquisition`),
    so both give a series the same role."""
    path = database.fileForInstance(uid)
    values = tuple(database.fileValue(path, tag.replace("|", ","))
                   for tag in ACQUISITION_TAGS)
    sopClass = database.fileValue(path, SOP_CLASS.replace("|", ","))
    return file_acquisition(path, sopClass, Acquisition.from_tags(values))


def _storage_file(volumeNode) -> str | None:
    """The file a volume was loaded from (None or empty: created in the scene)."""
    storageNode = volumeNode.GetStorageNode()
    return storageNode.GetFileName() if storageNode is not None else None


def channel_order(volumeNode) -> tuple[str, ...]:
    """The sequence of nnU-Net channels 0..3 for a volume loaded from a channel file: what
    the ``dataset.json`` beside its file (or one folder up) names, else MSD's order."""
    return file_channels(_storage_file(volumeNode))


def _sidecar_role(volumeNode) -> str | None:
    fileName = _storage_file(volumeNode)
    sidecar = read_sidecar(Path(fileName)) if fileName else None
    if sidecar is None:
        return None
    return sidecar.named_role or sidecar.measured_role


def _subject_hierarchy():
    return slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(slicer.mrmlScene)


def patient_of(volumeNode) -> tuple[int, str] | None:
    """The patient the volume belongs to in the subject hierarchy (its item, which tells
    two patients of one name apart, and its name), if any."""
    shNode = _subject_hierarchy()
    item = shNode.GetItemByDataNode(volumeNode)
    level = slicer.vtkMRMLSubjectHierarchyConstants.GetDICOMLevelPatient()
    patientItem = shNode.GetItemAncestorAtLevel(item, level) if item else 0
    return (int(patientItem), shNode.GetItemName(patientItem)) if patientItem else None


def patient_name(volumeNode) -> str | None:
    """Name of the patient the volume belongs to in the subject hierarchy, if any."""
    patient = patient_of(volumeNode)
    return patient[1] if patient else None


def place_next_to(node, referenceNode) -> None:
    """Put ``node`` under the same subject hierarchy parent as ``referenceNode``."""
    shNode = _subject_hierarchy()
    referenceItem = shNode.GetItemByDataNode(referenceNode)
    item = shNode.GetItemByDataNode(node)
    if referenceItem and item:
        shNode.SetItemParent(item, shNode.GetItemParent(referenceItem))


def remove_with_helpers(node) -> None:
    """Remove a node and the display and storage nodes that only it used."""
    helpers = [node.GetNthDisplayNode(i) for i in range(node.GetNumberOfDisplayNodes())]
    helpers.append(node.GetStorageNode())
    slicer.mrmlScene.RemoveNode(node)
    for helper in helpers:
        if helper is not None and helper.GetScene() is not None:
            slicer.mrmlScene.RemoveNode(helper)


def _segment_tag(segment, name: str) -> str:
    value = vtk.reference("")
    return value.get() if segment.GetTag(name, value) else ""


def omnet_segments(segmentation) -> dict[str, str]:
    """Key -> ID of OMNet's segments in a ``vtkSegmentation``, found by their tag, else by
    name (:func:`.segments.match_segments`); what updating and measuring a result share."""
    triples = []
    for index in range(segmentation.GetNumberOfSegments()):
        segmentId = segmentation.GetNthSegmentID(index)
        segment = segmentation.GetSegment(segmentId)
        triples.append((segmentId, _segment_tag(segment, SEGMENT_TAG), segment.GetName()))
    return match_segments(triples)


def _omnet_segment_ids(segmentationNode) -> list[str]:
    """IDs of OMNet's three segments, in label order; missing ones are (re)created.

    They are found by their ``OMNet.Segment`` tag, else by name (:func:`.segments.match_segments`,
    the rule the lesion measurement uses), so a result loaded back from a DICOM SEG, whose
    segments keep their names but not the tag, is updated in place, not given three more
    segments of the same names. Each is tagged again; names and colours are marked as chosen
    (not generated from the terminology), so picking another terminology entry in Segment
    Editor does not rename or recolour them; each is tagged as OMNet's automatic result,
    which a DICOM SEG export writes.
    """
    segmentation = segmentationNode.GetSegmentation()
    found = omnet_segments(segmentation)
    ids = []
    for spec in SEGMENTS:
        segmentId = found.get(spec.key)
        if segmentId is None:
            segmentId = segmentation.AddEmptySegment("", spec.name, spec.color)
            segment = segmentation.GetSegment(segmentId)
            segment.SetTag(segment.GetTerminologyEntryTagName(), terminology_entry(spec))
        segment = segmentation.GetSegment(segmentId)
        segment.SetTag(SEGMENT_TAG, spec.key)
        segment.SetNameAutoGenerated(False)
        segment.SetColorAutoGenerated(False)
        for name, value in algorithm_tags(omnet_version).items():
            segment.SetTag(name, value)
        ids.append(segmentId)
    return ids


def _set_opacity_3d(displayNode, segmentIds: Sequence[str]) -> None:
    """Each OMNet segment's 3D opacity: the edema surface around the core is see-through, so
    the necrotic core and the enhancing rim inside it can be seen in the 3D view."""
    for segmentId, spec in zip(segmentIds, SEGMENTS):
        displayNode.SetSegmentOpacity3D(segmentId, spec.opacity_3d)


def _new_result_node(base: str):
    """A new segmentation node named ``base``, or ``base_1``, ``base_2`` ... when an earlier
    run's result has that name (as Slicer names its own duplicates), the suffix kept in the
    node's ``OMNet.RunSuffix`` attribute for the run's other nodes."""
    name = slicer.mrmlScene.GenerateUniqueName(base)
    segmentationNode = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", name)
    segmentationNode.SetAttribute(RUN_SUFFIX_ATTRIBUTE, run_suffix(name, base))
    return segmentationNode


def import_segmentation(labelPath: str | os.PathLike, referenceVolume, name: str,
                        target=None, onNetworkGrid: bool = False):
    """Fill OMNet's segments of ``target`` (or of a new node) from the child's label map.

    Label values 1, 2, 3 go to the necrotic, edema and enhancing segments; other segments of
    ``target`` are left alone. A new node is named ``name``, numbered when an earlier run's
    result has that name. The segmentation's geometry (the grid Segment Editor edits
    on) is the T1c's, or with ``onNetworkGrid`` the label map's own 1 mm grid, still tied to
    the T1c as its reference volume. Returns the segmentation node.
    """
    labelNode = slicer.util.loadLabelVolume(str(labelPath), {"show": False})
    if labelNode is None:
        raise RuntimeError(f"could not load the result {labelPath}")
    created = target is None
    segmentationNode = target or _new_result_node(name)
    try:
        transformId = referenceVolume.GetTransformNodeID()
        labelNode.SetAndObserveTransformNodeID(transformId)
        segmentationNode.SetAndObserveTransformNodeID(transformId)
        if onNetworkGrid:  # the grid's geometry, then the T1c as the reference volume again
            segmentationNode.SetReferenceImageGeometryParameterFromVolumeNode(labelNode)
            segmentationNode.SetNodeReferenceID(
                segmentationNode.GetReferenceImageGeometryReferenceRole(), referenceVolume.GetID())
        else:
            segmentationNode.SetReferenceImageGeometryParameterFromVolumeNode(referenceVolume)
        segmentationNode.SetAttribute(GRID_ATTRIBUTE, "network" if onNetworkGrid else "reference")
        segmentationNode.CreateDefaultDisplayNodes()
        segmentIds = vtk.vtkStringArray()
        omnetIds = _omnet_segment_ids(segmentationNode)
        for segmentId in omnetIds:
            segmentIds.InsertNextValue(segmentId)
        _set_opacity_3d(segmentationNode.GetDisplayNode(), omnetIds)
        logic = slicer.modules.segmentations.logic()
        if not logic.ImportLabelmapToSegmentationNode(labelNode, segmentationNode, segmentIds):
            raise RuntimeError("Slicer could not import the label map into the segmentation")
    except Exception:
        if created:
            remove_with_helpers(segmentationNode)
        raise
    finally:
        remove_with_helpers(labelNode)
    if created:
        place_next_to(segmentationNode, referenceVolume)
    return segmentationNode


def store_volumes(segmentationNode, volumesMl: Mapping[str, float]) -> None:
    """Keep the measured volumes (mL) on the node, so they are saved with the scene."""
    for key, value in volumesMl.items():
        segmentationNode.SetAttribute(VOLUME_ATTRIBUTE_PREFIX + key, f"{float(value):.3f}")


def _display_node(segmentationNode):
    """The segmentation's display node, created first if it has none (e.g. after a scene load)."""
    if segmentationNode.GetDisplayNode() is None:
        segmentationNode.CreateDefaultDisplayNodes()
    return segmentationNode.GetDisplayNode()


def set_visibility_3d(segmentationNode, show: bool) -> None:
    """Show the segments as surfaces in the 3D view (built on first use), or hide them."""
    displayNode = _display_node(segmentationNode)
    if show:
        segmentationNode.CreateClosedSurfaceRepresentation()
    displayNode.SetVisibility3D(show)


def show_segmentation(segmentationNode, referenceVolume, show3D: bool) -> None:
    """Show the result over the T1c in the slice views, and as surfaces in 3D if asked."""
    displayNode = _display_node(segmentationNode)
    displayNode.SetVisibility(True)
    displayNode.SetVisibility2D(True)
    set_visibility_3d(segmentationNode, show3D)
    slicer.util.setSliceViewerLayers(background=referenceVolume)


def _show_heat(displayNode, window: tuple[float, float] | None) -> None:
    """Heat colours; a fixed window (auto window/level off) where the map has one."""
    displayNode.SetAndObserveColorNodeID(HEAT_COLOR_NODE_ID)
    if window is not None:
        displayNode.SetAutoWindowLevel(0)
        displayNode.SetWindowLevelMinMax(*window)


def load_attention_maps(paths: Sequence[str | os.PathLike], referenceVolume,
                        folderName: str, suffix: str = "", owner=None) -> list:
    """Load attention maps as heat-coloured volumes in a folder next to the inputs; the
    guidance maps (probabilities) on a fixed 0-1 window. Each name ends with ``suffix``, the
    run's (:func:`.names.run_suffix`), so the maps of two runs read apart; each is marked as
    the maps of the segmentation node ``owner``, so a run that updates it replaces them
    (:func:`remove_attention_maps`)."""
    shNode = _subject_hierarchy()
    referenceItem = shNode.GetItemByDataNode(referenceVolume)
    folderItem = shNode.CreateFolderItem(shNode.GetItemParent(referenceItem), folderName)
    nodes = []
    for path in paths:
        volumeNode = slicer.util.loadVolume(str(path), {
            "name": f"OMNet {attention_title(path)}{suffix}", "show": False})
        volumeNode.SetAttribute(ATTENTION_ATTRIBUTE, "1")
        if owner is not None:
            volumeNode.SetAttribute(ATTENTION_OWNER_ATTRIBUTE, owner.GetID())
        volumeNode.SetAndObserveTransformNodeID(referenceVolume.GetTransformNodeID())
        _show_heat(volumeNode.GetDisplayNode(), attention_window(path))
        shNode.SetItemParent(shNode.GetItemByDataNode(volumeNode), folderItem)
        nodes.append(volumeNode)
    return nodes


def remove_attention_maps(segmentationNode, keep: Sequence = ()) -> int:
    """Remove the attention maps earlier runs loaded for ``segmentationNode`` (all but
    ``keep``, the latest run's) and each folder they leave empty, so a result updated several
    times shows one set of maps, those of its last run. Returns how many were removed."""
    ownerId, keepIds = segmentationNode.GetID(), {node.GetID() for node in keep}
    old = [node for node in slicer.util.getNodesByClass("vtkMRMLScalarVolumeNode")
           if node.GetAttribute(ATTENTION_OWNER_ATTRIBUTE) == ownerId
           and node.GetID() not in keepIds]
    shNode = _subject_hierarchy()
    folders = {shNode.GetItemParent(shNode.GetItemByDataNode(node)) for node in old}
    for node in old:  # Slicer removes a removed node's subject hierarchy item with it
        remove_with_helpers(node)
    for folder in folders:
        _remove_empty_folder(shNode, folder)
    return len(old)


def _remove_empty_folder(shNode, item) -> None:
    """Remove the subject hierarchy item ``item`` if it is a folder that holds nothing (the
    maps' own folder once they are gone; never a patient or study, nor what the user added)."""
    folderLevel = slicer.vtkMRMLSubjectHierarchyConstants.GetSubjectHierarchyLevelFolder()
    if item and shNode.GetItemLevel(item) == folderLevel \
            and shNode.GetNumberOfItemChildren(item) == 0:
        shNode.RemoveItem(item)


def show_attention(volumeNode, opacity: float) -> None:
    """Overlay an attention map as the foreground layer of the slice views.

    With no map chosen, only slice views that show one of OMNet's attention maps lose it;
    any other foreground (a PET, a fusion) the user set up is left alone.
    """
    if volumeNode is not None:
        slicer.util.setSliceViewerLayers(foreground=volumeNode, foregroundOpacity=opacity)
        return
    for compositeNode in slicer.util.getNodesByClass("vtkMRMLSliceCompositeNode"):
        foregroundId = compositeNode.GetForegroundVolumeID()
        foreground = slicer.mrmlScene.GetNodeByID(foregroundId) if foregroundId else None
        if foreground is not None and foreground.GetAttribute(ATTENTION_ATTRIBUTE):
            compositeNode.SetForegroundVolumeID(None)
