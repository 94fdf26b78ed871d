"""Run the torch-free tests under the oldest Python the extension supports (Slicer 5.8: 3.9).

Slicer 5.8 runs the modules and their ``PythonSlicer`` child process on Python 3.9, with
numpy 1.26.4, scipy 1.13.1 and SimpleITK and without PyTorch until the module installs it.
This makes ``.venv-py39`` with just those (plus pytest) and runs there the tests that need no
PyTorch: the Slicer modules' logic, loading them as Slicer does, and the import of every
``omnet`` module with a stand-in for PyTorch.

The interpreter is ``$OMNET_PYTHON39``, else ``python3.9`` on the PATH, else pyenv's 3.9.
Without one this step is skipped with a message, or fails where ``CI=true`` or
``OMNET_REQUIRE_OLDEST_PYTHON=1``. Usage: ``python tools/test_oldest_python.py [pytest args]``
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OLDEST = (3, 9)
VENV = REPO / ".venv-py39"
#: Slicer 5.8's own numpy and scipy (SuperBuild/External_python-*.cmake), SimpleITK, pytest.
REQUIREMENTS = ("numpy==1.26.4", "scipy==1.13.1", "SimpleITK>=2.2", "pytest>=7", "tomli>=2")
TESTS = ("Testing/Python/compat", "Testing/Python/slicer")


def version_of(python: str) -> tuple[int, int] | None:
    """(major, minor) of an interpreter, or None when it does not run (e.g. a pyenv shim)."""
    try:
        out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return None
    parts = out.stdout.split()
    return (int(parts[0]), int(parts[1])) if out.returncode == 0 and len(parts) == 2 else None


def candidates() -> list[str]:
    found = [os.environ.get("OMNET_PYTHON39", ""), shutil.which("python3.9") or ""]
    roots = [os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv")]
    if shutil.which("pyenv"):
        out = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=False)
        roots.insert(0, out.stdout.strip())
    for root in filter(None, roots):
        found += sorted(glob.glob(os.path.join(root, "versions", "3.9*", "bin", "python3.9")),
                        reverse=True)
    return [c for c in dict.fromkeys(found) if c]


def find_python() -> str | None:
    return next((c for c in candidates() if version_of(c) == OLDEST), None)


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(python: str) -> None:
    """Create or refresh .venv-py39 when the interpreter or the requirements changed."""
    stamp = VENV / ".omnet-requirements"
    wanted = "\n".join([python, *REQUIREMENTS]) + "\n"
    if stamp.is_file() and stamp.read_text() == wanted and venv_python().is_file():
        return
    print(f"test_oldest_python: setting up {VENV.name} with {python}", flush=True)
    subprocess.run([python, "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run([str(venv_python()), "-m", "pip", "install", "-q", *REQUIREMENTS],
                   check=True)
    stamp.write_text(wanted)


def required() -> bool:
    return (os.environ.get("CI", "").lower() == "true"
            or os.environ.get("OMNET_REQUIRE_OLDEST_PYTHON") == "1")


def main(argv: list[str] | None = None) -> int:
    python = find_python()
    name = ".".join(map(str, OLDEST))
    if python is None:
        message = (f"test_oldest_python: no Python {name} found (set OMNET_PYTHON39, or "
                   f"install it, e.g. `pyenv install {name}`)")
        if required():
            print(message + "; required here (CI)", file=sys.stderr)
            return 1
        print(message + "; the Python 3.9 tests were skipped", flush=True)
        return 0
    ensure_venv(python)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.setdefault("OMP_NUM_THREADS", "1")
    command = [str(venv_python()), "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS,
               *(argv if argv is not None else sys.argv[1:])]
    print(f"test_oldest_python: Python {name}: {' '.join(TESTS)}", flush=True)
    return subprocess.run(command, cwd=REPO, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
