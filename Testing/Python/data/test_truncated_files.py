"""A truncated .nii.gz is refused instead of read as a volume padded with zeros."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from omnet.data.imageio import read_image
from omnet.errors import InputError


@pytest.mark.parametrize("dtype", [np.int16, np.float32, np.uint8])
def test_complete_files_are_read(tmp_path: Path, dtype) -> None:
    array = (np.random.default_rng(0).random((20, 30, 40)) * 100 + 1).astype(dtype)
    path = tmp_path / "volume.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray(array), str(path))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(read_image(path)), array)


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99])
def test_truncated_files_are_refused(tmp_path: Path, keep: float) -> None:
    array = (np.random.default_rng(1).random((20, 30, 40)) * 1000 + 1).astype(np.int16)
    path = tmp_path / "volume.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray(array), str(path))
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(InputError, match=r"truncated or corrupt|cannot read"):
        read_image(path)
