"""Synthetic images for the inference tests: geometry known exactly, values analytic."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest
import SimpleITK as sitk


def rotation(z_deg: float, x_deg: float) -> tuple[float, ...]:
    """A direction matrix (row-major 3x3) rotating by z_deg about z, then x_deg about x."""
    a, b = np.radians(z_deg), np.radians(x_deg)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    return tuple((rx @ rz).ravel())


def physical_points(image: sitk.Image) -> np.ndarray:
    """Physical (x, y, z) of every voxel centre, array-ordered (z, y, x, 3)."""
    size = image.GetSize()
    idx = np.stack(np.meshgrid(*[np.arange(s) for s in size], indexing="ij"), -1)  # (x,y,z,3)
    direction = np.array(image.GetDirection()).reshape(3, 3)
    pts = (idx * np.array(image.GetSpacing())) @ direction.T + np.array(image.GetOrigin())
    return pts.transpose(2, 1, 0, 3)


def linear_field(points: np.ndarray) -> np.ndarray:
    """A function linear in physical space: linear interpolation reproduces it exactly."""
    return 100.0 + 0.7 * points[..., 0] - 0.4 * points[..., 1] + 0.25 * points[..., 2]


ImageFactory = Callable[..., sitk.Image]


@pytest.fixture
def make_image() -> ImageFactory:
    """Build an image of a given grid whose voxels hold ``field`` of their physical point."""

    def build(size: Sequence[int] = (24, 20, 16), spacing: Sequence[float] = (1.0, 1.0, 1.0),
              origin: Sequence[float] = (0.0, 0.0, 0.0),
              direction: Sequence[float] = (1, 0, 0, 0, 1, 0, 0, 0, 1),
              field: Callable[[np.ndarray], np.ndarray] = linear_field,
              dtype=np.float32) -> sitk.Image:
        image = sitk.Image([int(s) for s in size], sitk.sitkFloat32)
        image.SetSpacing([float(s) for s in spacing])
        image.SetOrigin([float(o) for o in origin])
        image.SetDirection([float(d) for d in direction])
        values = field(physical_points(image)).astype(dtype)
        out = sitk.GetImageFromArray(values)
        out.CopyInformation(image)
        return out

    return build


def brain_phantom(shape: Sequence[int] = (32, 48, 40), seed: int = 0) -> np.ndarray:
    """Four 'sequences' (4, z, y, x): an ellipsoidal brain with a bright blob, zero outside."""
    rng = np.random.default_rng(seed)
    zz, yy, xx = np.meshgrid(*[np.linspace(-1, 1, s) for s in shape], indexing="ij")
    brain = zz**2 / 0.8 + yy**2 / 0.8 + xx**2 / 0.8 < 1.0
    blob = (zz - 0.1) ** 2 + (yy + 0.2) ** 2 + (xx - 0.1) ** 2 < 0.12
    images = np.zeros((4, *shape), dtype=np.float32)
    for c in range(4):
        base = 200.0 + 50 * c + rng.normal(0, 5, shape)
        images[c] = np.where(brain, base + 150.0 * blob * (1 if c != 1 else -0.5), 0)
    return images


@pytest.fixture
def phantom_case(tmp_path):
    """A case folder of four NIfTI files (BraTS names) holding :func:`brain_phantom`."""

    def build(shape: Sequence[int] = (32, 48, 40), spacing=(1.0, 1.0, 1.0),
              direction=(1, 0, 0, 0, 1, 0, 0, 0, 1), origin=(0.0, 0.0, 0.0), name="case1",
              root=None):
        folder = (root or tmp_path) / name
        folder.mkdir(parents=True, exist_ok=True)
        images = brain_phantom(shape)
        for role, volume in zip(("flair", "t1", "t1ce", "t2"), images):
            image = sitk.GetImageFromArray(volume.astype(np.int16))
            image.SetSpacing(spacing)
            image.SetOrigin(origin)
            image.SetDirection(direction)
            sitk.WriteImage(image, str(folder / f"{name}_{role}.nii.gz"))
        return folder

    return build


@pytest.fixture(scope="session")
def tiny_model_file(tmp_path_factory):
    """A randomly initialised width-2 OM-Net + CGA saved as an OMNet model file."""
    import torch

    from omnet.card import ModelCard
    from omnet.model import build_model
    from omnet.model.weights import save_model

    torch.manual_seed(0)
    model = build_model("omnet-cga", width=2)
    path = tmp_path_factory.mktemp("models") / "tiny.safetensors"
    save_model(model, ModelCard(name="tiny-test", model=model.config), path)
    return path


@pytest.fixture
def tiny_model():
    """A fresh randomly initialised width-2 OM-Net + CGA module."""
    import torch

    from omnet.model import build_model

    torch.manual_seed(1)
    return build_model("omnet-cga", width=2)


@pytest.fixture(autouse=True)
def _phantoms_pass_the_brain_checks(small_phantoms) -> None:
    """The synthetic cases here are a few cm across, far smaller than a head."""
