"""The sequence of an anonymised DICOM series from its TR, TE and TI (typical protocols)."""

from __future__ import annotations

import pytest

from omnet.data.acquisition import Acquisition, describe_acquisition, role_from_acquisition

GAD = "GADOVIST"  # a de-identified header keeps a dummy value here


@pytest.mark.parametrize("acquisition, role", [
    (Acquisition(9000, 81, 2500, ("SE", "IR")), "flair"),            # 2D TIRM
    (Acquisition(5000, 387, 1800, ("SE", "IR")), "flair"),           # 3D SPACE FLAIR
    (Acquisition(4000, 100, None, ("SE",)), "t2"),                   # TSE
    (Acquisition(500, 10, None, ("SE",)), "t1"),                     # spin echo
    (Acquisition(500, 10, None, ("SE",), contrast_agent=GAD), "t1ce"),
    (Acquisition(2300, 2.3, 900, ("GR", "IR")), "t1"),               # MPRAGE
    (Acquisition(2300, 2.3, 900, ("GR", "IR"), contrast_agent=GAD), "t1ce"),
    (Acquisition(8.2, 3.2, 450, ("GR", "IR"), contrast_agent=GAD), "t1ce"),  # BRAVO
    (Acquisition(7.5, 3.0, None, ("GR",), contrast_agent=GAD), "t1ce"),    # VIBE / FSPGR
    (Acquisition(2000, 12, 860, ("SE", "IR")), "t1"),                # GE T1-FLAIR
    # none of the four
    (Acquisition(6000, 90, None, ("EP",)), None),                    # diffusion
    (Acquisition(4000, 100, None, ("SE",), ("DERIVED", "PRIMARY", "ADC")), None),
    (Acquisition(650, 20, None, ("GR",)), None),                     # T2* GRE
    (Acquisition(28, 20, None, ("GR",)), None),                      # SWI
    (Acquisition(23, 3.5, None, ("GR",)), None),                     # time of flight
    (Acquisition(3000, 15, None, ("SE",)), None),                    # proton density
    (Acquisition(None, 10, None, ("SE",)), None),                    # no TR in the header
])
def test_typical_protocols(acquisition, role):
    assert role_from_acquisition(acquisition) == role


def test_header_values_are_read_as_dicom_writes_them():
    a = Acquisition.from_tags(("9000", "81\\90", "2500.0", "SE\\IR", "ORIGINAL\\PRIMARY\\M",
                               " "))
    assert (a.repetition_ms, a.echo_ms, a.inversion_ms) == (9000.0, 81.0, 2500.0)
    assert a.scanning_sequence == ("SE", "IR") and a.contrast_agent == ""
    assert Acquisition.from_tags(("", "x", "", "", "", "")).echo_ms is None


@pytest.mark.parametrize("acquisition, role", [
    # the times decide where there are both: a T1-weighted FLAIR stays T1, a FLAIR called T2
    (Acquisition(2000, 12, 860, ("SE", "IR"), acquisition_contrast="FLUID_ATTENUATED"), "t1"),
    (Acquisition(9000, 120, 2500, ("SE", "IR"), acquisition_contrast="T2"), "flair"),
    (Acquisition(2000, 3, 900, ("GR", "IR"), contrast_agent=GAD, acquisition_contrast="T1"),
     "t1ce"),
    # without TR or TE the stated contrast names it
    (Acquisition(None, None, None, acquisition_contrast="FLUID_ATTENUATED"), "flair"),
    (Acquisition(None, 100, None, acquisition_contrast="T2"), "t2"),
    (Acquisition(contrast_agent=GAD, acquisition_contrast="T1"), "t1ce"),
    (Acquisition(acquisition_contrast="UNKNOWN"), None),
    # a contrast that is none of the four rules the series out, whatever its times
    (Acquisition(5000, 100, None, ("SE",), acquisition_contrast="DIFFUSION"), None),
    (Acquisition(5000, 100, None, ("SE",), acquisition_contrast="MIXED"), "t2"),
])
def test_enhanced_mr_acquisition_contrast(acquisition, role):
    assert role_from_acquisition(acquisition) == role


def test_describe_acquisition_says_what_the_role_went_by():
    assert describe_acquisition(Acquisition(500, 10, None, ("SE",), contrast_agent=GAD)) == \
        "TR 500 ms, TE 10 ms, TI 0 ms, contrast agent"
    assert describe_acquisition(Acquisition(9000, 120, 2500, acquisition_contrast="T2")) == \
        "TR 9000 ms, TE 120 ms, TI 2500 ms, Acquisition Contrast T2"
    assert describe_acquisition(Acquisition(acquisition_contrast="T1")) == \
        "Acquisition Contrast T1"
