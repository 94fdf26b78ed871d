"""The sequence of an anonymised DICOM series from its TR, TE and TI (typical protocols)."""

from __future__ import annotations

import pytest

from omnet.data.acquisition import Acquisition, role_from_acquisition

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
