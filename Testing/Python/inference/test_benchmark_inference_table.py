"""``benchmarks/benchmark_inference.py``'s timing table has a column for every stage that
``omnet.segment`` times (README "Speed and memory" runs it)."""

from __future__ import annotations

from script_modules import load_script


def _benchmark():
    return load_script("benchmarks/benchmark_inference.py")


def test_every_timed_stage_has_a_column(phantom_case, tiny_model_file, tmp_path, capsys):
    from omnet.inference.pipeline import segment

    result = segment(phantom_case(), tmp_path / "out.nii.gz", model=tiny_model_file,
                     device="cpu")
    timed = set(result.report["timings_s"]) - {"total"}
    # The preparation stage ("prepare") had no column: the table showed nan under the
    # "resample" and "normalise" columns of an earlier pipeline, and no preparation time.
    assert "prepare" in timed
    bench = _benchmark()
    assert timed <= set(bench.STAGES)
    row = {"method": "fast", "timings": dict(result.report["timings_s"]), "process_s": 1.0,
           "peak_rss_mb": 100.0, "gpu_peak_mb": None, "precision": "bfloat16"}
    bench._timing_table([row])
    assert "nan" not in capsys.readouterr().out
