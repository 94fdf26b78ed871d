"""Progress, metric and error parsing of a run, with a scripted stand-in for the child."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from OMNetSegmentationLib.job import JobMonitor, eta_seconds, format_duration, readable_failure


class ScriptedRunner:
    """Plays back lines in chunks, then exits with ``returncode``."""

    def __init__(self, chunks: list[list[str]], returncode: int) -> None:
        self.chunks, self._returncode, self.cancelled = chunks, returncode, False

    def start(self, argv: Sequence[str], env: Mapping[str, str] | None = None,
              cwd: str | None = None) -> None:
        self.argv = list(argv)

    def read_lines(self) -> list[str]:
        return self.chunks.pop(0) if self.chunks else []

    def finished(self) -> bool:
        return not self.chunks

    @property
    def returncode(self) -> int | None:
        return self._returncode if not self.chunks else None

    def cancel(self) -> None:
        self.cancelled = True
        self.chunks = []
        self._returncode = -15


def run(chunks, returncode=0, **callbacks):
    monitor = JobMonitor(ScriptedRunner(chunks, returncode), **callbacks)
    monitor.start(["omnet"])
    polls = 0
    while monitor.poll():
        polls += 1
        assert polls < 100
    return monitor


def test_progress_metrics_and_result_are_dispatched():
    progress, metrics, logs, finished = [], [], [], []
    train = '{"kind":"train","iteration":10,"total":100,"loss":{"task1":0.9},"eta_s":90}'
    monitor = run([["PROGRESS 0.0500 building cache", "cache: 3 cases"],
                   [f"METRIC {train}", "PROGRESS not-a-number x"],
                   ['RESULT {"model": "/r/model.safetensors", "run_dir": "/r"}']],
                  on_progress=lambda f, s: progress.append((f, s)),
                  on_metric=metrics.append, on_log=logs.append,
                  on_finished=finished.append)
    assert progress == [(0.05, "building cache")]
    assert metrics == [{"kind": "train", "iteration": 10, "total": 100,
                        "loss": {"task1": 0.9}, "eta_s": 90}]
    # free text and malformed protocol lines go to the log, not to the progress bar
    assert logs[:2] == ["cache: 3 cases", "PROGRESS not-a-number x"]
    assert finished == [monitor.outcome]
    assert monitor.outcome.succeeded
    assert monitor.outcome.result["model"] == "/r/model.safetensors"


def test_a_results_warnings_become_sentences_for_the_dialog():
    warned = run([['RESULT {"output": "/o.nii.gz", "warnings": ["check the FLAIR", '
                   '"check the T2"]}']])
    assert warned.outcome.warnings == "Check the FLAIR.\nCheck the T2."
    quiet = run([['RESULT {"output": "/o.nii.gz", "warnings": []}']])
    assert quiet.outcome.succeeded and quiet.outcome.warnings == ""
    older = run([['RESULT {"output": "/o.nii.gz"}']])  # an omnet from before warnings
    assert older.outcome.warnings == ""


def test_error_line_wins_over_the_traceback():
    monitor = run([["Traceback (most recent call last):", "ValueError: boom",
                    "ERROR no bundled model found in /x; pass --model FILE.safetensors"]],
                  returncode=2)
    assert monitor.outcome.status == "failed"
    assert monitor.outcome.message.startswith("no bundled model found")
    assert "ValueError: boom" in monitor.outcome.details


def test_a_failed_run_keeps_its_result_for_reports():
    # omnet train --check exits 1 when no case is usable, but still lists the cases
    monitor = run([['RESULT {"cases": [{"case": "a", "ok": false}]}']], returncode=1)
    assert monitor.outcome.status == "failed"
    assert monitor.outcome.result == {"cases": [{"case": "a", "ok": False}]}


def test_success_without_result_is_a_failure():
    monitor = run([["all good"]], returncode=0)
    assert monitor.outcome.status == "failed"
    assert "without reporting a result" in monitor.outcome.message


def test_interrupted_and_cancelled_runs():
    assert run([["x"]], returncode=130).outcome.status == "cancelled"
    assert run([["x"]], returncode=143).outcome.status == "cancelled"  # SIGTERM from elsewhere
    monitor = JobMonitor(ScriptedRunner([["PROGRESS 0.5000 a"], ["never read"]], 0))
    monitor.start(["omnet"])
    monitor.poll()
    monitor.cancel()
    assert monitor.runner.cancelled
    assert monitor.poll() is False
    assert monitor.outcome.status == "cancelled"


def test_a_run_that_reports_its_result_after_a_late_stop_succeeded():
    """omnet train stopped in its final validation exports the model, says so in RESULT and
    exits 0: the panel offers that model rather than 'Stopped by the user'."""
    result = 'RESULT {"model": "/r/model.safetensors", "run_dir": "/r"}'

    class FinishingRunner(ScriptedRunner):
        def cancel(self) -> None:  # the child takes the stop and still writes its result
            self.cancelled = True

    monitor = JobMonitor(FinishingRunner([["PROGRESS 0.9900 validating"], [result]], 0))
    monitor.start(["omnet"])
    monitor.poll()
    monitor.cancel()
    assert monitor.runner.cancelled
    while monitor.poll():
        pass
    assert monitor.outcome.succeeded
    assert monitor.outcome.result["model"] == "/r/model.safetensors"


def test_a_stop_wins_over_a_late_result_where_the_caller_says_so():
    """A segmentation stopped as its child ends (the scene closing) must not count as a
    success: its result would be imported into the next scene. ``keep_late_result=False``
    makes the stop win; the training default above keeps the exported model."""
    result = 'RESULT {"output": "labels.nii.gz"}'

    class FinishedRunner(ScriptedRunner):
        def cancel(self) -> None:  # the child had already written its result and exited 0
            self.cancelled = True

    monitor = JobMonitor(FinishedRunner([[result]], 0), keep_late_result=False)
    monitor.start(["omnet"])
    monitor.cancel()
    while monitor.poll():
        pass
    assert monitor.runner.cancelled
    assert (monitor.outcome.status, monitor.outcome.message) == ("cancelled",
                                                                 "Stopped by the user.")
    assert monitor.outcome.result is None


@pytest.mark.parametrize(("log", "code", "expected"), [
    (["ModuleNotFoundError: No module named 'torch'"], 1, "PyTorch is not installed"),
    (["ModuleNotFoundError: No module named 'sklearn'"], 1, "Python package OMNet needs"),
    (["RuntimeError: CUDA out of memory. Tried to allocate 2 GiB"], 1, "GPU ran out of memory"),
    (["line one", "Killed", ""], -9, "omnet was ended by SIGKILL (exit status -9); the system "
                                     "does this when memory runs out"),
    (["line one"], -15, "omnet was ended by SIGTERM (exit status -15)"),
])
def test_readable_failures_from_logs(log, code, expected):
    assert expected in readable_failure(None, log, code)


def test_a_killed_run_is_not_blamed_on_its_last_log_line():
    """A training run killed for memory: its last line was an unrelated INFO line, which the
    message gave as the reason ('exit status -9: INFO ... tensorboard is not installed')."""
    log = ["INFO omnet.training.run: training on 3 cases, validating on 1; 40 iterations",
           "INFO omnet.training.monitor: tensorboard is not installed; no TensorBoard logs"]
    message = readable_failure(None, log, -9)
    assert "tensorboard" not in message
    assert message == ("omnet was ended by SIGKILL (exit status -9); the system does this "
                       "when memory runs out: close other programs and try again")


def test_eta_and_durations():
    assert eta_seconds(0.0, 10.0) is None
    assert eta_seconds(0.25, 30.0) == pytest.approx(90.0)
    assert eta_seconds(1.0, 30.0) == pytest.approx(0.0)
    assert format_duration(None) == ""
    assert format_duration(7.4) == "7 s"
    assert format_duration(75) == "1 min 15 s"
    assert format_duration(3 * 3600 + 5 * 60) == "3 h 05 min"


@pytest.mark.parametrize("seconds, text", [(3 * 3600 + 5 * 60 + 50, "3 h 06 min"),
                                           (3 * 3600 + 5 * 60 + 29, "3 h 05 min"),
                                           (float("inf"), ""), (float("nan"), ""), (-1.0, "")])
def test_durations_above_an_hour_round_as_the_batch_log_does(seconds, text):
    """The panels truncated the minutes above an hour (3 h 05 min 50 s read "3 h 05 min")
    where omnet's batch log rounded them; one function now, rounding to the nearest minute."""
    assert format_duration(seconds) == text
