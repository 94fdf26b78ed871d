"""``counted``: a count with its noun in the right number."""

from __future__ import annotations

import pytest

from omnet.utils.plural import counted


@pytest.mark.parametrize(("count", "noun", "plural", "expected"), [
    (1, "case", "", "1 case"),
    (0, "case", "", "0 cases"),
    (2, "validation case", "", "2 validation cases"),
    ("?", "iteration", "", "? iterations"),
    (3, "series", "series", "3 series"),
])
def test_the_noun_takes_the_number_of_the_count(count, noun, plural, expected):
    assert counted(count, noun, plural) == expected
