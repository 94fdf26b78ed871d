"""``omnet segment --report`` carries the per-lesion report, equal to ``omnet measure``."""

from __future__ import annotations

import json

from omnet import segment
from omnet.measurement import measure_file


def test_segment_report_lesions_equal_omnet_measure(phantom_case, tiny_model, tmp_path):
    folder = phantom_case(shape=(24, 40, 36), spacing=(1.0, 1.0, 2.0))
    report = tmp_path / "r.json"
    segment(folder, tmp_path / "l.nii.gz", model=tiny_model, labels="brats2023",
            report=report, postprocess=False, device="cpu")
    lesions = json.loads(report.read_text())["lesions"]
    assert lesions == json.loads(json.dumps(
        measure_file(tmp_path / "l.nii.gz", "brats2023").to_dict()))
    assert lesions["labels"] == "brats2023" and set(lesions["regions"]) == {
        "whole", "core", "enhancing"}
