"""Fixtures of the preparation tests (the analytic head lives in ``head_phantom``)."""

from __future__ import annotations

import pytest
from head_phantom import head_case


@pytest.fixture
def head():
    """``head(skull=False, size=..., spacing=..., origin=..., direction=...)`` -> the four
    sequences of the analytic head on that grid."""
    return head_case
