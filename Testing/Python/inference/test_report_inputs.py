"""The report's ``inputs``: which file (and which channel of a 4D file) fed each sequence."""

from __future__ import annotations

from pathlib import Path

from omnet.data.discovery import CaseFiles
from omnet.inference.report import input_record


def test_a_4d_volume_read_in_a_dataset_json_order_is_reported_in_that_order():
    """nnU-Net's BraTS conversions store T1, T1ce, T2, FLAIR: FLAIR is channel 3 there."""
    case = CaseFiles(case_id="c", four_d=Path("c.nii.gz"),
                     channel_order=("t1", "t1ce", "t2", "flair"))
    record = input_record(case)
    assert record["flair"] == {"file": "c.nii.gz",
                               "found_by": "4D image, channel 3 (dataset.json order)"}
    assert record["t1"]["found_by"] == "4D image, channel 0 (dataset.json order)"
