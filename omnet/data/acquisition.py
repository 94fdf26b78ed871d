"""Which sequence a DICOM series is, from its acquisition parameters (pure, no I/O).

De-identification by DICOM's basic profile (PS3.15) removes the series description and the
protocol name, so an anonymised study may name none of its series; it keeps the repetition,
echo and inversion times, the scanning sequence and the image type, and it replaces a
contrast agent entry by a dummy value (so a post-contrast series still says so). Those tell
the four inputs apart as the contrast weighting is defined: FLAIR is an inversion recovery
whose long inversion nulls CSF, read with a long echo; T2 a long-TR, long-TE acquisition
without inversion; T1 a short-TE spin echo with a short TR, or a gradient echo with a very
short TE (FLASH, SPGR, MPRAGE, BRAVO). Diffusion, perfusion and other EPI series, T2*/SWI
gradient echoes (long TE) and time-of-flight angiography (a TR of 15-50 ms without
inversion) are none of the four, and neither is a derived image (ADC, MIP, subtraction).

An Enhanced MR file also states its contrast, Acquisition Contrast (0008,9209: T1, T2,
FLUID_ATTENUATED, DIFFUSION, ...; PS3.3 C.8.13.3). The times decide where the header gives
them (a T1-weighted FLAIR, a FLAIR some scanner calls T2, stay what their times say); the
stated contrast names the sequence where TR or TE is missing, and a contrast that is none of
the three (diffusion, perfusion, flow, proton density, ...) rules a series out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["ACQUISITION_TAGS", "CONTRAST_ROLES", "Acquisition", "choose_series",
           "describe_acquisition", "role_from_acquisition"]

Series = TypeVar("Series")

#: Repetition, echo and inversion time (ms), scanning sequence, image type, contrast agent.
ACQUISITION_TAGS = ("0018|0080", "0018|0081", "0018|0082", "0018|0020", "0008|0008",
                    "0018|0010")
#: An inversion at least this long (ms) nulls CSF: a FLAIR.
FLAIR_MIN_INVERSION_MS = 1500.0
#: Echo times (ms) from which a series is T2-weighted.
T2_MIN_ECHO_MS = 60.0
T2_MIN_REPETITION_MS = 1500.0
#: T1-weighted: a spin echo with at most this TE and TR (ms) ...
T1_MAX_SPIN_ECHO_MS, T1_MAX_REPETITION_MS = 30.0, 1000.0
#: ... or an inversion that darkens CSF without nulling it (MPRAGE, T1-FLAIR) ...
T1_INVERSION_MS = (300.0, 1300.0)
#: ... or a gradient echo with at most this TE (longer: T2*, SWI).
T1_MAX_GRADIENT_ECHO_MS = 10.0
#: A gradient echo without inversion and a TR in this range (ms) is time-of-flight MRA.
ANGIOGRAPHY_REPETITION_MS = (15.0, 50.0)
#: Enhanced MR Acquisition Contrast terms that name an input (a contrast agent makes T1 T1c) ...
CONTRAST_ROLES = {"FLUID_ATTENUATED": "flair", "T1": "t1", "T2": "t2"}
#: ... and those that state nothing: absent, or frames of several contrasts.
_UNSTATED = ("", "UNKNOWN", "MIXED")
_DERIVED = ("DIFFUSION", "ADC", "TRACE", "FA", "MIP", "SUB", "PERFUSION", "PROJECTION")


def _number(text: str) -> float | None:
    try:
        return float(text.split("\\")[0])
    except (ValueError, IndexError):
        return None


@dataclass(frozen=True)
class Acquisition:
    """A series' acquisition parameters as its header gives them (None: absent)."""

    repetition_ms: float | None = None
    echo_ms: float | None = None
    inversion_ms: float | None = None
    scanning_sequence: tuple[str, ...] = ()  # SE, IR, GR, EP, RM
    image_type: tuple[str, ...] = ()
    contrast_agent: str = ""
    #: Enhanced MR Acquisition Contrast (0008,9209), "" in a classic image.
    acquisition_contrast: str = ""

    @classmethod
    def from_tags(cls, values: tuple[str, ...]) -> Acquisition:
        """From the header values of :data:`ACQUISITION_TAGS`, in that order ("" absent)."""
        tr, te, ti, scanning, image_type, agent = values
        return cls(_number(tr), _number(te), _number(ti),
                   tuple(s.strip().upper() for s in scanning.split("\\") if s.strip()),
                   tuple(s.strip().upper() for s in image_type.split("\\") if s.strip()),
                   agent.strip())


def role_from_acquisition(a: Acquisition) -> str | None:
    """flair, t1, t1ce or t2 from the parameters of :class:`Acquisition`, or None when they
    are missing or name none of the four (see the module's docstring)."""
    if "EP" in a.scanning_sequence or any(word in a.image_type for word in _DERIVED):
        return None
    stated = a.acquisition_contrast
    if stated not in _UNSTATED and stated not in CONTRAST_ROLES:
        return None  # diffusion, perfusion, proton density, ...
    if a.repetition_ms is None or a.echo_ms is None:
        role = CONTRAST_ROLES.get(stated)  # no times: what the scanner says it acquired
    else:
        role = _role_from_times(a)
    return "t1ce" if role == "t1" and a.contrast_agent else role


def _role_from_times(a: Acquisition) -> str | None:
    """flair, t1 or t2 from TR, TE and TI (both present), or None."""
    tr, te, ti = a.repetition_ms, a.echo_ms, a.inversion_ms or 0.0
    gradient = "GR" in a.scanning_sequence
    if ti >= FLAIR_MIN_INVERSION_MS and te >= T2_MIN_ECHO_MS:
        return "flair"
    if not ti and not gradient and tr >= T2_MIN_REPETITION_MS and te >= T2_MIN_ECHO_MS:
        return "t2"
    inverted = T1_INVERSION_MS[0] <= ti <= T1_INVERSION_MS[1]
    if gradient:
        low, high = ANGIOGRAPHY_REPETITION_MS
        t1 = te <= T1_MAX_GRADIENT_ECHO_MS and (inverted or not low <= tr <= high)
    else:
        t1 = te <= T1_MAX_SPIN_ECHO_MS and (tr <= T1_MAX_REPETITION_MS or inverted)
    return "t1" if t1 else None


def describe_acquisition(a: Acquisition) -> str:
    """What :func:`role_from_acquisition` went by, for the log and the report: "TR 9000 ms,
    TE 81 ms, TI 2500 ms, contrast agent, Acquisition Contrast FLUID_ATTENUATED" (the times
    only where the header gives TR and TE; TI 0 without inversion)."""
    parts = []
    if a.repetition_ms is not None and a.echo_ms is not None:
        parts = [f"TR {a.repetition_ms:g} ms", f"TE {a.echo_ms:g} ms",
                 f"TI {a.inversion_ms or 0:g} ms"]
    if a.contrast_agent:
        parts.append("contrast agent")
    if a.acquisition_contrast:
        parts.append(f"Acquisition Contrast {a.acquisition_contrast}")
    return ", ".join(parts)


def choose_series(series: Sequence[Series], roles: Iterable[str],
                  named_role: Callable[[Series], str | None],
                  acquisition: Callable[[Series], Acquisition],
                  size: Callable[[Series], object]) -> dict[str, tuple[Series, bool]]:
    """Per role, the series whose name gives it; when none does, an unnamed series whose
    acquisition parameters give it; of several, the largest (a 3D acquisition before a 2D
    one). Role -> (series, chosen by its parameters). Shared by DICOM studies and dcm2niix
    sidecars."""
    names = [(s, named_role(s)) for s in series]
    chosen: dict[str, tuple[Series, bool]] = {}
    for role in roles:
        candidates = [s for s, name in names if name == role]
        by_parameters = not candidates
        if by_parameters:  # only when no series names the sequence
            candidates = [s for s, name in names
                          if name is None and role_from_acquisition(acquisition(s)) == role]
        if candidates:
            chosen[role] = (max(candidates, key=size), by_parameters)
    return chosen
