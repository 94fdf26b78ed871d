"""An anonymised study of Enhanced MR files (one file a series, no series description or
protocol name): the four sequences are told apart by the TR, TE, TI and contrast in their
functional groups and by their stated Acquisition Contrast, as a classic study is by its
top-level TR, TE and TI."""

from __future__ import annotations

import logging

import pytest
from dicom_files import _pixels, _position, cut_short, functional_groups, write_enhanced_mr
from pydicom.dataset import Dataset

from omnet.data.acquisition import Acquisition
from omnet.data.dicom import study_case
from omnet.data.enhanced_mr import ADMINISTERED, enhanced_acquisition
from omnet.errors import InputError

#: Per role: TR, TE, TI (ms; None: no inversion), Echo Pulse Sequence, Acquisition Contrast,
#: contrast agent administered. FLAIR a TIRM, T1 and T1c an MPRAGE, T2 a TSE.
PARAMETERS = {"flair": (9000.0, 120.0, 2500.0, "SPIN", "FLUID_ATTENUATED", False),
              "t1": (2000.0, 3.0, 900.0, "GRADIENT", "T1", False),
              "t1ce": (2000.0, 3.0, 900.0, "GRADIENT", "T1", True),
              "t2": (5000.0, 100.0, None, "SPIN", "T2", False)}
#: Folder order unlike the roles' order.
FOLDERS = {"t2": "SE1", "t1ce": "SE2", "flair": "SE3", "t1": "SE4"}


def _series(folder, number: int, parameters, timed: bool = True) -> None:
    """One anonymised Enhanced MR series: no description or protocol name; ``timed`` False:
    without the timing, echo and modifier sequences (as in some derived files)."""
    tr, te, ti, echo, contrast, given = parameters
    groups = functional_groups(tr, te, ti, given)
    if not timed:
        groups = {"ContrastBolusUsageSequence": groups["ContrastBolusUsageSequence"]}
    folder.mkdir(parents=True)
    write_enhanced_mr(folder / "IM0001", _pixels(6), [_position(k) for k in range(6)],
                      header={"SeriesInstanceUID": f"1.2.3.2.{number}",
                              "SOPInstanceUID": f"1.2.3.9.{number}",
                              "AcquisitionContrast": contrast, "EchoPulseSequence": echo,
                              "EchoPlanarPulseSequence": "NO"},
                      shared=groups)


def _study(root, timed: bool = True, stated=None) -> None:
    """The four series of :data:`PARAMETERS` in :data:`FOLDERS`; ``stated``: role -> another
    Acquisition Contrast for that series."""
    for number, (role, folder) in enumerate(FOLDERS.items(), 1):
        tr, te, ti, echo, contrast, given = PARAMETERS[role]
        contrast = (stated or {}).get(role, contrast)
        _series(root / folder, number, (tr, te, ti, echo, contrast, given), timed)


def test_an_anonymised_enhanced_mr_study_is_read_by_itsfunctional_groups(tmp_path, caplog):
    """Before, GDCM's top-level header of these files gave no TR or TE: no sequence found."""
    _study(tmp_path / "study")
    with caplog.at_level(logging.INFO, logger="omnet.data.dicom"):
        case = study_case(tmp_path / "study")
    assert {role: getattr(case, role).name for role in PARAMETERS} == FOLDERS
    for role, (tr, te, ti, _, contrast, given) in PARAMETERS.items():
        reason = (f"by its acquisition (TR {tr:g} ms, TE {te:g} ms, TI {ti or 0:g} ms"
                  f"{', contrast agent' if given else ''}, Acquisition Contrast {contrast})")
        assert case.found_by[role].endswith(reason)
        assert reason in caplog.text


def test_without_times_the_stated_acquisition_contrast_names_the_sequence(tmp_path):
    _study(tmp_path / "study", timed=False)
    case = study_case(tmp_path / "study")
    assert {role: getattr(case, role).name for role in PARAMETERS} == FOLDERS
    assert case.found_by["t1ce"].endswith("by its acquisition (contrast agent, Acquisition "
                                          "Contrast T1)")


def test_a_diffusion_series_is_none_of_the_four_whatever_its_times(tmp_path):
    """Times of a T2 (TR 5000, TE 100), but the scanner says diffusion: no T2 in the study."""
    _study(tmp_path / "study", stated={"t2": "DIFFUSION"})
    with pytest.raises(InputError) as error:
        study_case(tmp_path / "study")
    assert str(error.value).startswith("study: no T2 among its DICOM series")


def test_parameters_in_the_first_frame_group_and_top_level_values_kept(tmp_path):
    """Per-frame functional groups (no shared timing): the first frame's; the classic header's
    image type is kept, and an unreadable file leaves the classic values as they were."""
    tr, te, ti, echo, contrast, given = PARAMETERS["t1ce"]
    write_enhanced_mr(tmp_path / "f.dcm", _pixels(2), [_position(0), _position(1)],
                      header={"AcquisitionContrast": contrast, "EchoPulseSequence": echo})
    _move_to_frames(tmp_path / "f.dcm", functional_groups(tr, te, ti, given))
    classic = Acquisition(image_type=("ORIGINAL", "PRIMARY"))
    assert enhanced_acquisition(tmp_path / "f.dcm", classic) == Acquisition(
        tr, te, ti, ("GR", "IR"), ("ORIGINAL", "PRIMARY"), ADMINISTERED, contrast)
    (tmp_path / "empty.dcm").write_bytes(b"")
    assert enhanced_acquisition(tmp_path / "empty.dcm", classic) == classic


def test_an_enhanced_mr_file_cut_short_keeps_the_classic_values(tmp_path):
    """A header pydicom cannot finish reading (struct.error) leaves the top-level values."""
    write_enhanced_mr(tmp_path / "f.dcm", _pixels(2), [_position(0), _position(1)],
                      header={"AcquisitionContrast": "T2", "EchoPulseSequence": "SPIN"})
    cut_short(tmp_path / "f.dcm")
    classic = Acquisition(image_type=("ORIGINAL", "PRIMARY"))
    assert enhanced_acquisition(tmp_path / "f.dcm", classic) == classic


def _move_to_frames(path, groups: dict[str, Dataset]) -> None:
    """Add ``groups`` to each frame's functional group item of the file ``path``."""
    import pydicom

    data = pydicom.dcmread(path)
    for frame in data.PerFrameFunctionalGroupsSequence:
        for keyword, item in groups.items():
            setattr(frame, keyword, [item])
    data.save_as(path)
