"""A batch run again with the same --report keeps what the earlier record said of the cases
it skips as done (omnet.inference.batch_history)."""

from __future__ import annotations

import json
import logging
import os

from omnet.cli import main
from omnet.inference.batch_history import earlier_cases


def _batch(capsys, cases, results, report, model) -> dict:
    code = main(["segment", "--input-dir", str(cases), "--output-dir", str(results),
                 "--model", str(model), "--device", "cpu", "--progress-format", "none",
                 "--report", str(report)])
    capsys.readouterr()
    assert code == 0
    return json.loads(report.read_text())


def test_a_case_skipped_as_done_keeps_its_earlier_report(capsys, phantom_case,
                                                         tiny_model_file, tmp_path):
    """New cases added to a folder and the batch run again: the record listed the first
    run's cases as skipped with no report, so their volumes and checks were lost."""
    cases, results, report = tmp_path / "cases", tmp_path / "results", tmp_path / "batch.json"
    for name in ("a", "b"):
        phantom_case(shape=(16, 24, 24), name=name, root=cases)
    first = _batch(capsys, cases, results, report, tiny_model_file)
    phantom_case(shape=(16, 24, 24), name="c", root=cases)  # a new patient
    second = _batch(capsys, cases, results, report, tiny_model_file)
    assert [c["status"] for c in second["cases"]] == ["skipped", "skipped", "segmented"]
    assert sorted(second["reports"]) == ["a", "b", "c"]
    assert second["reports"]["a"] == first["reports"]["a"]


def test_a_label_map_written_since_the_record_gets_no_stale_report(capsys, phantom_case,
                                                                   tiny_model_file, tmp_path):
    cases, results, report = tmp_path / "cases", tmp_path / "results", tmp_path / "batch.json"
    for name in ("a", "b"):
        phantom_case(shape=(16, 24, 24), name=name, root=cases)
    _batch(capsys, cases, results, report, tiny_model_file)
    later = report.stat().st_mtime + 60  # another tool (or a run without --report) since
    os.utime(results / "a.nii.gz", (later, later))
    second = _batch(capsys, cases, results, report, tiny_model_file)
    assert sorted(second["reports"]) == ["b"]


def test_a_file_that_is_no_batch_record_is_replaced_without_a_carried_report(tmp_path,
                                                                             caplog):
    single = tmp_path / "single.json"  # a one-case report: no cases, no reports
    single.write_text(json.dumps({"volumes_ml": {"whole_tumour": 3.0}}))
    broken = tmp_path / "broken.json"
    broken.write_text('{"cases": [')  # a run killed while another tool wrote it
    with caplog.at_level(logging.WARNING, logger="omnet.inference.batch_history"):
        assert earlier_cases(single) == {}
        assert earlier_cases(broken) == {}
        assert earlier_cases(tmp_path / "absent.json") == {}
    assert [r.getMessage() for r in caplog.records] == [
        f"{broken} is not a batch report that can be read; it is replaced"]
