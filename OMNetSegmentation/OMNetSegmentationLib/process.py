"""Run a child process without blocking the caller, and stop it with everything it started.

Two reader threads (stdout and stderr, so lines of the two streams never mix) move the
child's output lines into a queue; the caller drains the queue whenever it likes (in
Slicer: from a ``qt.QTimer`` on the main thread), so the GUI never waits on the child.
The child starts in its own session (POSIX) or process group (Windows);
:meth:`SubprocessRunner.cancel` signals the whole group and every descendant seen at that
moment, politely first (SIGTERM, so ``omnet`` removes its partial files), then for good.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol, runtime_checkable

__all__ = ["ProcessRunner", "SubprocessRunner", "descendants", "descendants_from_table",
           "outside_group"]

log = logging.getLogger(__name__)

_NO_WINDOW = getattr(subprocess, "CREATE_NO_WINDOW", 0)
_NEW_GROUP = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)


@runtime_checkable
class ProcessRunner(Protocol):
    """What the job logic needs from a running child; tests and Slicer use the same calls."""

    def start(self, argv: Sequence[str], env: Mapping[str, str] | None = None,
              cwd: str | None = None) -> None: ...

    def read_lines(self) -> list[str]: ...

    def finished(self) -> bool: ...

    @property
    def returncode(self) -> int | None: ...

    def cancel(self) -> None: ...


def descendants_from_table(pid: int, table: Iterable[tuple[int, int]]) -> list[int]:
    """Every descendant of ``pid`` in a (pid, parent pid) table, children first."""
    children: dict[int, list[int]] = {}
    for child, parent in table:
        children.setdefault(parent, []).append(child)
    found, todo = [], list(children.get(pid, []))
    while todo:
        current = todo.pop(0)
        if current not in found and current != pid:
            found.append(current)
            todo.extend(children.get(current, []))
    return found


def _process_table() -> list[tuple[int, int]]:
    """(pid, parent pid) of all processes, from psutil when Slicer has it, else ``ps``."""
    try:
        import psutil

        return [(p.pid, p.ppid()) for p in psutil.process_iter()]
    except Exception:  # psutil is optional (and may fail on a locked-down system): use ps
        pass
    try:
        out = subprocess.run(["ps", "-A", "-o", "pid=", "-o", "ppid="], capture_output=True,
                             text=True, timeout=5, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    table = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            table.append((int(parts[0]), int(parts[1])))
    return table


def descendants(pid: int) -> list[int]:
    """Process IDs of every process started (directly or not) by ``pid``, alive now."""
    return descendants_from_table(pid, _process_table())


def _group_of(pid: int) -> int | None:
    """Process group of a process, or None when it is gone."""
    try:
        return os.getpgid(pid)
    except (ProcessLookupError, PermissionError):
        return None


def outside_group(group: int, pids: Iterable[int],
                  group_of: Callable[[int], int | None] = _group_of) -> list[int]:
    """The processes of ``pids`` that a signal to process group ``group`` would miss."""
    return [pid for pid in pids if group_of(pid) not in (None, group)]


def _signal(pid: int, sig: int, group: bool) -> bool:
    """Send a signal; False when the process (group) is already gone."""
    try:
        (os.killpg if group else os.kill)(pid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


class SubprocessRunner:
    """:class:`ProcessRunner` on :class:`subprocess.Popen` with a reader thread.

    Args:
        grace_seconds: how long a cancelled child may take to stop on SIGTERM before it and
            its descendants are killed.
        max_lines_per_read: at most this many lines per :meth:`read_lines` call, so one
            drain never holds the GUI for long.
    """

    def __init__(self, grace_seconds: float = 3.0, max_lines_per_read: int = 500) -> None:
        self.grace_seconds = grace_seconds
        self.max_lines_per_read = max_lines_per_read
        self._proc: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str] = queue.Queue()
        self._done = threading.Event()
        self.cancelled = False

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self, argv: Sequence[str], env: Mapping[str, str] | None = None,
              cwd: str | None = None) -> None:
        if self._proc is not None:
            raise RuntimeError("this runner has already started a process")
        options: dict = {}
        if os.name == "nt":
            options["creationflags"] = _NEW_GROUP | _NO_WINDOW
        else:
            options["start_new_session"] = True
        self._proc = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="replace",
            bufsize=1, env=dict(env) if env is not None else None, cwd=cwd, **options)
        readers = [threading.Thread(target=self._read, args=(stream,), daemon=True,
                                    name="omnet-output-reader")
                   for stream in (self._proc.stdout, self._proc.stderr)]
        for reader in readers:
            reader.start()
        threading.Thread(target=self._wait, args=(readers,), daemon=True,
                         name="omnet-exit-waiter").start()

    def _read(self, stream) -> None:
        try:
            for line in stream:
                self._lines.put(line.rstrip("\r\n"))
        finally:
            stream.close()

    def _wait(self, readers: list[threading.Thread]) -> None:
        for reader in readers:
            reader.join()
        assert self._proc is not None
        self._proc.wait()
        self._done.set()

    def read_lines(self) -> list[str]:
        lines: list[str] = []
        while len(lines) < self.max_lines_per_read:
            try:
                lines.append(self._lines.get_nowait())
            except queue.Empty:
                break
        return lines

    def finished(self) -> bool:
        """True once the child has exited and all its output has been read."""
        return self._done.is_set() and self._lines.empty()

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode if self._done.is_set() and self._proc else None

    def wait(self, timeout: float) -> bool:
        """Block until the child has exited (for scripts and tests, never the GUI)."""
        return self._done.wait(timeout)

    def cancel(self) -> None:
        """Stop the child and everything it started; returns at once."""
        if self._proc is None:
            return
        self.cancelled = True
        pid = self._proc.pid
        family = descendants(pid)
        if os.name == "nt":
            subprocess.run(["taskkill", "/F", "/T", "/PID", str(pid)], capture_output=True,
                           creationflags=_NO_WINDOW, check=False)
            for child in family:
                subprocess.run(["taskkill", "/F", "/PID", str(child)], capture_output=True,
                               creationflags=_NO_WINDOW, check=False)
            return
        # Descendants in the child's group get the group's signal; the others (a new session)
        # get their own. Never twice: a second SIGTERM makes ``omnet train`` abort instead of
        # writing its checkpoint.
        _signal(pid, signal.SIGTERM, group=True)
        for child in outside_group(pid, family):
            _signal(child, signal.SIGTERM, group=False)
        threading.Thread(target=self._kill_after_grace, args=(pid, family), daemon=True,
                         name="omnet-kill").start()

    def _kill_after_grace(self, pid: int, family: list[int]) -> None:
        deadline = time.monotonic() + self.grace_seconds
        while time.monotonic() < deadline:
            if not _signal(pid, 0, group=True) and not any(
                    _signal(child, 0, group=False) for child in family):
                return
            time.sleep(0.05)
        log.info("child process %d did not stop on SIGTERM; killing it", pid)
        _signal(pid, signal.SIGKILL, group=True)
        for child in family:
            _signal(child, signal.SIGKILL, group=False)
