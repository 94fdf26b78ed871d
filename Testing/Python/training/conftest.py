"""Tiny synthetic training data: phantoms whose classes and intensities are known exactly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from omnet.training.config import TrainConfig, apply_overrides, preset_config
from omnet.training.sampling import TrainingCase, centre_candidates

#: Tiny network and patches so a training iteration takes a fraction of a second on 2 cores.
TINY = {
    "model": {"width": 4},
    "sampling": {"patch_size": [8, 16, 16], "patches_per_task": 2},
    "schedule": {"stage_unit": "iterations", "stage_lengths": [2.0, 2.0, 4.0]},
    "run": {"checkpoint_every": 4, "checkpoint_minutes": 0.0, "validate_every": 4,
            "plot_every": 4, "log_every": 2, "tensorboard": False},
}


def phantom_classes(shape=(24, 40, 40), centre=(12, 20, 20), tumour_radius=7.0,
                    core_radius=4.0, enhancing_shell=1.5) -> np.ndarray:
    """Network classes of a phantom: ellipsoidal brain (4), edema ball (2) holding a core
    ball whose outer shell is enhancing (3) and inside necrotic (1); 0 outside the brain."""
    z, y, x = np.meshgrid(*[np.arange(s) for s in shape], indexing="ij")
    half = np.array(shape) / 2.0
    radii = (half[0] - 1, half[1] - 2, half[2] - 2)
    brain = sum(((g - h + 0.5) / r) ** 2 for g, h, r in zip((z, y, x), half, radii)) <= 1.0
    r = np.sqrt((z - centre[0]) ** 2 + (y - centre[1]) ** 2 + (x - centre[2]) ** 2)
    classes = np.where(brain, 4, 0).astype(np.uint8)
    classes[(r <= tumour_radius) & brain] = 2
    classes[(r <= core_radius) & brain] = 3
    classes[(r <= core_radius - enhancing_shell) & brain] = 1
    return classes


def phantom_images(classes: np.ndarray, seed: int = 0, noise: float = 0.3) -> np.ndarray:
    """Four channels whose mean depends on the class (distinct per channel), plus noise;
    zero outside the brain as in skull-stripped data."""
    means = np.array([[0, 0, 0, 0], [1.0, -1.0, 0.5, 1.5], [2.0, 0.0, -0.5, 2.0],
                      [0.5, 0.5, 2.5, 0.5], [-0.5, 1.0, 0.0, -0.8]], dtype=np.float32)
    rng = np.random.default_rng(seed)
    images = means[classes].transpose(3, 0, 1, 2).copy()
    images += noise * rng.standard_normal(images.shape).astype(np.float32)
    images[:, classes == 0] = 0.0
    return images.astype(np.float32)


def memory_case(case_id: str = "syn", seed: int = 0, **kwargs) -> TrainingCase:
    classes = phantom_classes(**kwargs)
    return TrainingCase(case_id, phantom_images(classes, seed), classes,
                        centre_candidates(classes, 5))


def write_case(folder: Path, case_id: str, seed: int = 0, scheme: str = "brats2018",
               skip: tuple[str, ...] = (), **kwargs) -> Path:
    """A BraTS-style case folder (``<id>_flair.nii.gz`` ... ``<id>_seg.nii.gz``)."""
    classes = phantom_classes(**kwargs)
    images = phantom_images(classes, seed)
    case_dir = folder / case_id
    case_dir.mkdir(parents=True, exist_ok=True)
    enhancing = 4 if scheme == "brats2018" else 3
    labels = np.zeros(classes.shape, np.uint8)
    labels[classes == 1], labels[classes == 2], labels[classes == 3] = 1, 2, enhancing
    # raw intensities: shift away from zero inside the brain, as scanners do
    raw = np.where(classes > 0, 100.0 + 20.0 * images, 0.0).astype(np.float32)
    volumes = {"flair": raw[0], "t1": raw[1], "t1ce": raw[2], "t2": raw[3], "seg": labels}
    for role, array in volumes.items():
        if role not in skip:
            path = case_dir / f"{case_id}_{role}.nii.gz"
            sitk.WriteImage(sitk.GetImageFromArray(array), str(path))
    return case_dir


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks run fastest on one thread; two oversubscribe a busy 2-core machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tiny_config() -> Callable[..., TrainConfig]:
    """The quick preset shrunk to tiny sizes, with extra overrides by section."""

    def build(**sections) -> TrainConfig:
        config = apply_overrides(preset_config("quick"), TINY)
        return apply_overrides(config, sections).validate()

    return build


@pytest.fixture(scope="session")
def synthetic_dataset(tmp_path_factory) -> Path:
    """Three good phantom cases (one in the 2023 label scheme); read-only for tests."""
    root = tmp_path_factory.mktemp("synthetic_dataset")
    write_case(root, "case01", seed=1)
    write_case(root, "case02", seed=2, centre=(10, 18, 22))
    write_case(root, "case03", seed=3, scheme="brats2023", centre=(13, 22, 18))
    return root


@pytest.fixture(autouse=True)
def _phantoms_pass_the_brain_checks(small_phantoms) -> None:
    """The synthetic cases here are a few cm across, far smaller than a head."""
