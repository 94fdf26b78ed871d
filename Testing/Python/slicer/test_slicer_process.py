"""The process runner with real child processes: output arrives, Cancel kills the family."""

from __future__ import annotations

import os
import sys
import textwrap
import time
from pathlib import Path

import pytest
from OMNetSegmentationLib.job import JobMonitor
from OMNetSegmentationLib.process import (
    ProcessRunner,
    SubprocessRunner,
    descendants_from_table,
    outside_group,
)

pytestmark = pytest.mark.skipif(os.name != "posix", reason="process groups and /proc: POSIX")

# A child that reports progress, starts two grandchildren (one in its group that only notes
# each SIGTERM, like ``omnet train`` which checkpoints on the first and aborts on a second;
# one in a new session, out of the group's reach), prints their pids and sleeps.
FAMILY = textwrap.dedent("""
    import os, subprocess, sys, time
    # one os.write per line: two processes share the pipe, and a line must stay whole
    stubborn = ("import os, signal, time; signal.signal(signal.SIGTERM, lambda *a: "
                "os.write(1, b'TERM stubborn' + bytes([10]))); "
                "os.write(1, b'READY stubborn' + bytes([10])); time.sleep(120)")
    runaway = "import os, time; os.write(1, b'READY runaway' + bytes([10])); time.sleep(120)"
    a = subprocess.Popen([sys.executable, "-c", stubborn])
    b = subprocess.Popen([sys.executable, "-c", runaway], start_new_session=True)
    os.write(1, f"PROGRESS 0.1000 loading images\\nPIDS {a.pid} {b.pid}\\n".encode())
    time.sleep(120)
""")


def alive(pid: int) -> bool:
    """Running and not a zombie (an orphan's zombie may wait for a reaper that never comes)."""
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_runner_satisfies_the_protocol():
    assert isinstance(SubprocessRunner(), ProcessRunner)


def test_progress_result_and_exit_status_arrive():
    script = textwrap.dedent("""
        import sys
        print("PROGRESS 0.2500 loading images", flush=True)
        print("some free text", flush=True)
        print("PROGRESS 1.0000 done", flush=True)
        print('RESULT {"output": "/x/seg.nii.gz", "volumes_ml": {"whole": 12.5}}', flush=True)
    """)
    progress = []
    monitor = JobMonitor(SubprocessRunner(), on_progress=lambda f, s: progress.append((f, s)))
    monitor.start([sys.executable, "-c", script])
    assert wait_for(lambda: not monitor.poll(), timeout=30)
    assert progress == [(0.25, "loading images"), (1.0, "done")]
    assert monitor.outcome.succeeded
    assert monitor.outcome.result == {"output": "/x/seg.nii.gz", "volumes_ml": {"whole": 12.5}}
    assert monitor.log == ["some free text",
                           'RESULT {"output": "/x/seg.nii.gz", "volumes_ml": {"whole": 12.5}}']


def test_an_error_line_becomes_the_message():
    script = "import sys; print('ERROR T1c: file not found: /a/b.nii.gz', flush=True); sys.exit(2)"
    monitor = JobMonitor(SubprocessRunner())
    monitor.start([sys.executable, "-c", script])
    assert wait_for(lambda: not monitor.poll(), timeout=30)
    assert monitor.outcome.status == "failed"
    assert monitor.outcome.returncode == 2
    assert monitor.outcome.message == "T1c: file not found: /a/b.nii.gz"


def test_cancel_kills_child_and_grandchildren():
    runner = SubprocessRunner(grace_seconds=2.0)
    monitor = JobMonitor(runner)
    monitor.start([sys.executable, "-c", FAMILY])

    def ready() -> bool:
        monitor.poll()
        return sum(line.startswith("READY") for line in monitor.log) == 2 and any(
            line.startswith("PIDS") for line in monitor.log)

    assert wait_for(ready, timeout=30), monitor.log
    assert monitor.fraction == pytest.approx(0.1)
    pids_line = next(line for line in monitor.log if line.startswith("PIDS"))
    stubborn, runaway = (int(pid) for pid in pids_line.split()[1:])
    child = runner.pid
    assert all(alive(pid) for pid in (child, stubborn, runaway))

    started = time.monotonic()
    monitor.cancel()
    assert time.monotonic() - started < 1.0  # cancel returns at once; the GUI never waits
    # SIGTERM stops the child and the runaway; the stubborn one ignores it until the grace
    # period ends, and then it is killed for good
    assert wait_for(lambda: not alive(child) and not alive(runaway), timeout=1.5)
    assert alive(stubborn)
    assert wait_for(lambda: not monitor.poll(), timeout=15)
    assert monitor.outcome.status == "cancelled"
    assert wait_for(lambda: not alive(stubborn), timeout=10)
    # it was asked to stop exactly once (a second request would mean "abort")
    assert monitor.log.count("TERM stubborn") == 1


def test_descendants_from_a_process_table():
    table = [(1, 0), (10, 1), (11, 10), (12, 10), (13, 11), (20, 1), (21, 20)]
    assert sorted(descendants_from_table(10, table)) == [11, 12, 13]
    assert descendants_from_table(13, table) == []
    assert descendants_from_table(99, table) == []


def test_only_descendants_outside_the_group_are_signalled_on_their_own():
    # a second SIGTERM would make omnet train abort instead of checkpointing
    groups = {11: 10, 12: 12, 13: None, 14: 10}
    assert outside_group(10, [11, 12, 13, 14], groups.get) == [12]
    assert outside_group(10, [], groups.get) == []
