"""The files a user opens in another viewer: complete, named as asked, described."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from omnet.inference.outputs import write_image


def _labels() -> sitk.Image:
    image = sitk.GetImageFromArray(np.arange(60, dtype=np.uint8).reshape(3, 4, 5))
    image.SetSpacing((0.9, 1.1, 2.0))
    image.SetOrigin((12.0, -30.0, 47.0))
    return image


@pytest.mark.parametrize("name, data", [("labels.mhd", "labels.zraw"),
                                        ("labels.nhdr", "labels.raw.gz")])
def test_a_header_and_data_file_pair_is_written_under_the_names_asked(tmp_path, name, data):
    # the header was written under a hidden temporary name, so it named a hidden
    # '.labels.partial-*' data file that stayed behind, one more on every run
    for _ in range(2):
        write_image(_labels(), tmp_path / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, data])
    assert data in (tmp_path / name).read_text(errors="replace")
    back = sitk.ReadImage(str(tmp_path / name))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(back),
                                  sitk.GetArrayFromImage(_labels()))
    assert back.GetOrigin() == pytest.approx((12.0, -30.0, 47.0))
