"""The module's command line against the real ``omnet segment`` (the contract, end to end).

A small synthetic case (``omnet demo --size 48 48 32``) keeps this to seconds; the bundled
model segments it (a randomly initialised network paints any share of the brain, which
``omnet segment`` refuses as no glioma). The quality of the result is not the point, its
shape is. Torch runs only in the child processes, as in Slicer.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from OMNetSegmentationLib.command import (
    SegmentOptions,
    child_environment,
    omnet_search_path,
    segment_command,
)
from OMNetSegmentationLib.job import JobMonitor
from OMNetSegmentationLib.names import ATTENTION_TITLES
from OMNetSegmentationLib.process import SubprocessRunner
from OMNetSegmentationLib.segments import SEGMENTS, region_volumes_ml

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    importlib.util.find_spec("torch") is None, reason="omnet segment needs torch")]

@pytest.fixture(scope="module")
def case(tmp_path_factory) -> tuple[dict[str, str], str | None]:
    folder = tmp_path_factory.mktemp("contract")
    env = child_environment(os.environ, omnet_search_path())
    subprocess.run([sys.executable, "-m", "omnet", "demo", "-o", str(folder / "demo"),
                    "--no-segment", "--size", "48", "48", "32", "--progress-format", "none"],
                   check=True, capture_output=True, env=env, timeout=300)
    inputs = {role: str(folder / "demo" / "demo" / f"demo_{role}.nii.gz")
              for role in ("flair", "t1", "t1ce", "t2")}
    return inputs, None  # None: the bundled model


def run(argv, cancel_at=None) -> JobMonitor:
    monitor = JobMonitor(SubprocessRunner(grace_seconds=10))
    monitor.start(argv, env=child_environment(os.environ, omnet_search_path()))
    deadline = time.monotonic() + 300
    while monitor.poll():
        if cancel_at and cancel_at(monitor):
            monitor.cancel()
        assert time.monotonic() < deadline, monitor.log
        time.sleep(0.05)
    return monitor


@pytest.mark.parametrize("output_grid", ["reference", "auto"])
def test_segment_result_matches_what_the_module_imports(case, tmp_path, output_grid):
    inputs, model = case
    out = tmp_path / "labels.nii.gz"
    options = SegmentOptions(model=model, device="CPU", attention=True, output_grid=output_grid)
    argv = segment_command([sys.executable], inputs, out, options,
                           attention_dir=tmp_path / "attention", report=tmp_path / "r.json")
    monitor = run(argv)
    assert monitor.outcome.succeeded, monitor.outcome.message + monitor.outcome.details
    result = monitor.outcome.result
    assert Path(result["output"]) == out and out.is_file()
    assert result["warnings"] == [] and monitor.outcome.warnings == ""  # one patient's series

    labels = sitk.ReadImage(str(out))
    reference = sitk.ReadImage(inputs["t1ce"])
    if output_grid == "reference":
        assert result["output_grid"] == "reference"
        assert labels.GetSize() == reference.GetSize()
        assert np.allclose(labels.GetSpacing(), reference.GetSpacing())
    else:  # this demo's T1c has 5 mm voxels: the module gets the network's 1 mm grid
        assert result["output_grid"] == "network"
        assert np.allclose(labels.GetSpacing(), (1.0, 1.0, 1.0))
        attention = sitk.ReadImage(result["attention"][0])
        assert attention.GetSize() == labels.GetSize()
    values = sitk.GetArrayFromImage(labels)
    assert set(np.unique(values)) <= {0, *(spec.label for spec in SEGMENTS)}
    counts = {spec.label: int((values == spec.label).sum()) for spec in SEGMENTS}
    voxel = float(np.prod(labels.GetSpacing()))
    ours = region_volumes_ml(counts, voxel)
    for key, value in ours.items():
        assert value == pytest.approx(float(result["volumes_ml"][key]), rel=1e-3, abs=1e-3)

    names = {Path(path).name.split(".")[0] for path in result["attention"]}
    assert names == set(ATTENTION_TITLES)  # every map gets a proper title
    assert all(Path(path).is_file() for path in result["attention"])


def test_cancel_stops_omnet_segment_without_an_output(case, tmp_path):
    inputs, model = case
    out = tmp_path / "labels.nii.gz"
    argv = segment_command([sys.executable], inputs, out,
                           SegmentOptions(model=model, device="CPU", mode="exact"))
    monitor = run(argv, cancel_at=lambda m: m.fraction > 0)
    assert monitor.outcome.status == "cancelled"
    assert not out.exists()
    assert not list(tmp_path.glob("*.nii*")), "a partial output was left behind"
