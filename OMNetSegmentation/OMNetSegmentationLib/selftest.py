"""Body of the OMNetSegmentation self-test (Slicer only; run from Slicer's test runner).

Builds omnet's synthetic demo case in a child process (``omnet demo --no-segment``), loads
it as people would (names decide the roles), segments it with the bundled model through the
same path as the GUI, and checks segment names and codes, geometry and volumes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import slicer
import vtk

from omnet.data.discovery import find_case_files

from .command import SegmentOptions, child_environment, omnet_search_path, python_command
from .job import JobMonitor
from .logic import SegmentationRun
from .process import SubprocessRunner
from .roles import Volume, assign_roles
from .segments import SEGMENT_TAG, SEGMENTS, region_volumes_ml, terminology_entry

__all__ = ["make_demo_case", "run_self_test"]

DEMO_TIMEOUT_S = 600
SEGMENT_TIMEOUT_S = 1800


def make_demo_case(folder: Path):
    """Write the synthetic case with ``omnet demo`` and return its CaseFiles."""
    runner = SubprocessRunner()
    monitor = JobMonitor(runner)
    monitor.start([*python_command(in_slicer=True), "-m", "omnet", "demo", "-o", str(folder),
                   "--no-segment", "--progress-format", "lines"],
                  env=child_environment(os.environ, omnet_search_path()))
    if not runner.wait(DEMO_TIMEOUT_S):
        monitor.cancel()
        raise AssertionError("omnet demo did not finish in time")
    while monitor.poll():
        pass
    if monitor.outcome.returncode != 0:
        raise AssertionError(f"omnet demo failed: {monitor.outcome.details}")
    return find_case_files(folder / "demo", need_seg=True)


def _segment_voxels(segmentationNode, segmentId: str, reference) -> int:
    array = slicer.util.arrayFromSegmentBinaryLabelmap(segmentationNode, segmentId, reference)
    return int(np.count_nonzero(array))


def run_self_test(test, folder: Path) -> None:
    """Everything the self-test checks; ``test`` is the unittest.TestCase."""
    case = make_demo_case(folder)
    loaded = {}
    for role in ("flair", "t1", "t1ce", "t2"):
        loaded[role] = slicer.util.loadVolume(str(getattr(case, role)), {"show": False})
    truth = slicer.util.loadLabelVolume(str(case.seg), {"show": False})

    nodes = {node.GetID(): node for node in loaded.values()}
    assignment = assign_roles([Volume(key, node.GetName()) for key, node in nodes.items()],
                              new_keys=set(nodes))
    test.assertEqual({role: nodes[key] for role, key in assignment.roles.items()}, loaded)

    run = SegmentationRun(loaded, SegmentOptions(device="auto", mode="fast"), show3D=False)
    run.start()
    result = run.wait(SEGMENT_TIMEOUT_S)
    test.assertIsNotNone(result, "the segmentation did not finish in time")
    test.assertTrue(result.outcome.succeeded, result.outcome.message)
    segmentationNode = result.segmentation

    # names, colours and codes
    segmentation = segmentationNode.GetSegmentation()
    test.assertEqual(segmentation.GetNumberOfSegments(), len(SEGMENTS))
    for index, spec in enumerate(SEGMENTS):
        segment = segmentation.GetSegment(segmentation.GetNthSegmentID(index))
        test.assertEqual(segment.GetName(), spec.name)
        tag, terminology = vtk.mutable(""), vtk.mutable("")
        test.assertTrue(segment.GetTag(SEGMENT_TAG, tag))
        test.assertEqual(tag.get(), spec.key)
        segment.GetTag(segment.GetTerminologyEntryTagName(), terminology)
        test.assertEqual(terminology.get(), terminology_entry(spec))

    # geometry: the result lives on the T1c grid
    reference = loaded["t1ce"]
    geometry = segmentationNode.GetNodeReference(
        segmentationNode.GetReferenceImageGeometryReferenceRole())
    test.assertEqual(geometry.GetID(), reference.GetID())
    voxels = {spec.label: _segment_voxels(segmentationNode, segmentation.GetNthSegmentID(i),
                                          reference) for i, spec in enumerate(SEGMENTS)}
    spacing = reference.GetSpacing()
    measured = region_volumes_ml(voxels, spacing[0] * spacing[1] * spacing[2])

    # volumes: Slicer's voxels agree with the child's report, and the tumour is found
    reported = result.outcome.result["volumes_ml"]
    for key in ("whole", "core", "enhancing_tumour"):
        test.assertAlmostEqual(measured[key], float(reported[key]),
                               delta=0.01 * max(1.0, float(reported[key])))
    truth_array = slicer.util.arrayFromVolume(truth)
    predicted = slicer.util.arrayFromSegmentBinaryLabelmap(
        segmentationNode, segmentation.GetNthSegmentID(1), reference)
    for i in (0, 2):
        predicted = predicted | slicer.util.arrayFromSegmentBinaryLabelmap(
            segmentationNode, segmentation.GetNthSegmentID(i), reference)
    whole_truth = truth_array > 0
    dice = 2.0 * np.count_nonzero(whole_truth & (predicted > 0)) / max(
        1, np.count_nonzero(whole_truth) + np.count_nonzero(predicted))
    test.assertGreater(dice, 0.5, f"whole-tumour Dice {dice:.2f} on the demo case")
