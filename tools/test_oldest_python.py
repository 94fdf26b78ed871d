"""Run the torch-free tests under the Pythons of the supported Slicers: 3.9 (Slicer 5.8, the
oldest) and 3.12 (Slicer 5.10 and 5.12).

Slicer 5.8 runs the modules and their ``PythonSlicer`` child process on Python 3.9, with
numpy 1.26.4, scipy 1.13.1, pydicom 2.4.4 and SimpleITK and without PyTorch until the module
installs it.
This makes ``.venv-py39`` with just those (plus pytest) and runs there the tests that need no
PyTorch: the Slicer modules' logic, loading them as Slicer does, the import of every
``omnet`` module with a stand-in for PyTorch, and that every numpy, scipy, SimpleITK and
pydicom name the code reads exists. Then the same tests run in ``.venv-py312`` with Python
3.12 and Slicer 5.12's numpy 2.4.6, scipy 1.17.1, SimpleITK 2.5.5 and pydicom 3.0.2.

Each interpreter is ``$OMNET_PYTHON39`` / ``$OMNET_PYTHON312``, else ``python3.9`` /
``python3.12`` on the PATH, else pyenv's. Without one a step is skipped with a message; a
missing 3.9 fails where ``CI=true`` or ``OMNET_REQUIRE_OLDEST_PYTHON=1``.
Usage: ``python tools/test_oldest_python.py [pytest args]``
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OLDEST = (3, 9)
#: Slicer 5.8's own numpy, scipy and pydicom (SuperBuild/External_python-*.cmake; pydicom in
#: External_python-dicom-requirements.cmake), SimpleITK, pytest.
REQUIREMENTS = ("numpy==1.26.4", "scipy==1.13.1", "pydicom==2.4.4", "SimpleITK>=2.2",
                "pytest>=7", "tomli>=2")
#: Slicer 5.10 and 5.12's Python, with Slicer 5.12's (and main's, Aug 2026) own numpy, scipy,
#: SimpleITK and pydicom (the same SuperBuild files, plus External_python-SimpleITK.cmake),
#: pinned like 5.8's so a new numpy on PyPI does not change what CI checks.
NEWEST = (3, 12)
NEWEST_REQUIREMENTS = ("numpy==2.4.6", "scipy==1.17.1", "pydicom==3.0.2", "SimpleITK==2.5.5",
                       "pytest>=7")
TESTS = ("Testing/Python/compat", "Testing/Python/slicer")


@dataclass(frozen=True)
class Target:
    """One Slicer's Python: its version, the packages beside it, and its venv folder."""

    version: tuple[int, int]
    slicer: str
    requirements: tuple[str, ...]
    required: bool  # a missing interpreter fails in CI

    @property
    def name(self) -> str:
        return ".".join(map(str, self.version))

    @property
    def venv(self) -> Path:
        return REPO / f".venv-py{''.join(map(str, self.version))}"


TARGETS = (Target(OLDEST, "Slicer 5.8", REQUIREMENTS, True),
           Target(NEWEST, "Slicer 5.10 and 5.12", NEWEST_REQUIREMENTS, False))


def version_of(python: str) -> tuple[int, int] | None:
    """(major, minor) of an interpreter, or None when it does not run (e.g. a pyenv shim)."""
    try:
        out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return None
    parts = out.stdout.split()
    return (int(parts[0]), int(parts[1])) if out.returncode == 0 and len(parts) == 2 else None


def candidates(target: Target) -> list[str]:
    digits = "".join(map(str, target.version))
    found = [os.environ.get(f"OMNET_PYTHON{digits}", ""),
             shutil.which(f"python{target.name}") or ""]
    roots = [os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv")]
    if shutil.which("pyenv"):
        out = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=False)
        roots.insert(0, out.stdout.strip())
    for root in filter(None, roots):
        found += sorted(glob.glob(os.path.join(root, "versions", f"{target.name}*", "bin",
                                               f"python{target.name}")), reverse=True)
    return [c for c in dict.fromkeys(found) if c]


def find_python(target: Target) -> str | None:
    return next((c for c in candidates(target) if version_of(c) == target.version), None)


def venv_python(target: Target) -> Path:
    return target.venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(target: Target, python: str) -> None:
    """Create or refresh the target's venv when the interpreter or the requirements changed."""
    stamp = target.venv / ".omnet-requirements"
    wanted = "\n".join([python, *target.requirements]) + "\n"
    if stamp.is_file() and stamp.read_text() == wanted and venv_python(target).is_file():
        return
    print(f"test_oldest_python: setting up {target.venv.name} with {python}", flush=True)
    subprocess.run([python, "-m", "venv", "--clear", str(target.venv)], check=True)
    subprocess.run([str(venv_python(target)), "-m", "pip", "install", "-q",
                    *target.requirements], check=True)
    stamp.write_text(wanted)


def required() -> bool:
    return (os.environ.get("CI", "").lower() == "true"
            or os.environ.get("OMNET_REQUIRE_OLDEST_PYTHON") == "1")


def run_target(target: Target, pytest_args: list[str]) -> int:
    python = find_python(target)
    if python is None:
        message = (f"test_oldest_python: no Python {target.name} ({target.slicer}) found "
                   f"(set OMNET_PYTHON{''.join(map(str, target.version))}, or install it, "
                   f"e.g. `pyenv install {target.name}`)")
        if target.required and required():
            print(message + "; required here (CI)", file=sys.stderr)
            return 1
        print(message + f"; the Python {target.name} tests were skipped", flush=True)
        return 0
    ensure_venv(target, python)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.setdefault("OMP_NUM_THREADS", "1")
    command = [str(venv_python(target)), "-m", "pytest", "-q", "-p", "no:cacheprovider",
               *TESTS, *pytest_args]
    print(f"test_oldest_python: Python {target.name} ({target.slicer}): {' '.join(TESTS)}",
          flush=True)
    return subprocess.run(command, cwd=REPO, env=env, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    pytest_args = list(argv if argv is not None else sys.argv[1:])
    codes = [run_target(target, pytest_args) for target in TARGETS]
    return next((code for code in codes if code), 0)


if __name__ == "__main__":
    sys.exit(main())
