"""Install PyTorch into the Python running this script, without CUDA wheels on CPU machines.

An unpinned ``pip install torch`` on Linux fetches the CUDA build from PyPI, several GB of
``nvidia-*`` wheels, even on a machine without a GPU. So, in order:

1. torch already importable: nothing to do.
2. An NVIDIA GPU answers ``nvidia-smi -L``, or the system is not Linux (PyPI's macOS and
   Windows wheels have no CUDA): ``pip install "torch>=2.2"`` from the usual index.
3. Otherwise the CPU build: first from the official CPU index
   (https://download.pytorch.org/whl/cpu; pip configuration files and extra indexes are
   ignored for this attempt so that no CUDA build can sneak in; 10 s timeout, no retries),
   then, if that index cannot be reached, the pinned ``torch==2.13.0`` from the configured
   index (a CPU build where a local CPU wheel is configured, as on our CI machines).

Usage: ``python tools/install_torch.py [--device auto|cpu|gpu] [--dry-run]``
(``make demo`` and ``make test`` run it inside ``.venv``).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
REQUIREMENT = "torch>=2.2"
#: torch 2.8 is the last release with Python 3.9 wheels (the Python of Slicer 5.8).
FALLBACK = "torch==2.13.0" if sys.version_info >= (3, 10) else "torch==2.8.0"


def installed_torch() -> str | None:
    """The torch version importable by this Python, or None."""
    probe = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__)"],
                           capture_output=True, text=True, check=False)
    return probe.stdout.strip() if probe.returncode == 0 else None


def has_nvidia_gpu() -> bool:
    """True when ``nvidia-smi -L`` lists at least one GPU."""
    if shutil.which("nvidia-smi") is None:
        return False
    try:
        probe = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True,
                               timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0 and "GPU" in probe.stdout


def pip_install(args: list[str], env: dict[str, str] | None = None,
                dry_run: bool = False) -> bool:
    command = [sys.executable, "-m", "pip", "install", *args]
    print("install_torch: " + " ".join(command), flush=True)
    if dry_run:
        return True
    return subprocess.run(command, env=env, check=False).returncode == 0


def cpu_index_environment() -> dict[str, str]:
    """The environment for the CPU-index attempt: no pip config files, no extra indexes."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")}
    env["PIP_CONFIG_FILE"] = os.devnull
    return env


def install(device: str = "auto", dry_run: bool = False) -> int:
    """Install torch as described in the module docstring; returns an exit status."""
    version = installed_torch()
    if version is not None:
        print(f"install_torch: torch {version} is already installed", flush=True)
        return 0
    gpu = device == "gpu" or (device == "auto" and has_nvidia_gpu())
    if gpu or (device == "auto" and platform.system() != "Linux"):
        reason = "NVIDIA GPU found" if gpu else f"{platform.system()} wheels have no CUDA"
        print(f"install_torch: {reason}; installing {REQUIREMENT} from the package index",
              flush=True)
        return 0 if pip_install([REQUIREMENT], dry_run=dry_run) else 1
    print("install_torch: no NVIDIA GPU; installing the CPU build of PyTorch", flush=True)
    if pip_install(["--index-url", CPU_INDEX, "--timeout", "10", "--retries", "0",
                    REQUIREMENT], env=cpu_index_environment(), dry_run=dry_run):
        return 0
    print(f"install_torch: the PyTorch CPU index was not usable; trying {FALLBACK} from the "
          "configured package index", flush=True)
    if pip_install([FALLBACK], dry_run=dry_run):
        return 0
    print("install_torch: could not install PyTorch; install a CPU build by hand "
          f"(pip install {REQUIREMENT} --index-url {CPU_INDEX}) and run make again",
          file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto",
                        help="which build to install (default: detect)")
    parser.add_argument("--dry-run", action="store_true", help="print the pip commands only")
    args = parser.parse_args(argv)
    return install(args.device, args.dry_run)


if __name__ == "__main__":
    sys.exit(main())
