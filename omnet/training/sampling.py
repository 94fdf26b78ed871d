"""The three patch samplers of the paper and the concatenated batch of one iteration.

Task 1 centres patches anywhere in the brain, task 2 inside the complete tumour dilated by
5 voxels, task 3 inside the tumour core. Cases are drawn uniformly among those that have
candidates for the task, then a centre uniformly among the case's candidates. Every draw
comes from the generator passed in, which the trainer derives from (seed, iteration, rank),
so a batch depends on nothing but those numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from omnet.inference.fusion import dilate_ball
from omnet.labels import BACKGROUND, CORE_CLASSES, TUMOUR_CLASSES
from omnet.training.config import AugmentSettings
from omnet.training.patches import augment_patch, extract_patch

__all__ = ["Batch", "TrainingCase", "centre_candidates", "centre_source",
           "report_missing_regions", "sample_batch"]

log = logging.getLogger(__name__)


@dataclass
class TrainingCase:
    """One pre-processed case: normalised images (4, z, y, x), network classes (z, y, x)
    and, per task, the flat indices of the voxels a patch may be centred on."""

    case_id: str
    images: np.ndarray
    classes: np.ndarray
    centres: dict[int, np.ndarray]


@dataclass
class Batch:
    """Patches of one iteration: images (N, 4, z, y, x) float32, classes (N, z, y, x) uint8,
    the task whose sampler drew each patch, and where it came from (case, centre)."""

    images: np.ndarray
    classes: np.ndarray
    source: np.ndarray
    origins: list[tuple[str, tuple[int, int, int]]]


def centre_candidates(classes: np.ndarray, dilation: int = 5) -> dict[int, np.ndarray]:
    """Flat int64 indices of the allowed patch centres of tasks 1, 2 and 3."""
    tumour = np.isin(classes, TUMOUR_CLASSES)
    return {
        1: np.flatnonzero(classes != BACKGROUND),
        2: np.flatnonzero(dilate_ball(tumour, dilation)),
        3: np.flatnonzero(np.isin(classes, CORE_CLASSES)),
    }


def centre_source(cases: Sequence[TrainingCase], task: int) -> tuple[list[int], int]:
    """Cases that can give a centre for ``task`` and the region they use: the task's own,
    or the next wider one (core -> dilated tumour -> brain) when no case has it."""
    for region in range(task, 0, -1):
        found = [i for i, c in enumerate(cases) if len(c.centres.get(region, ())) > 0]
        if found:
            return found, region
    raise ValueError("no training case has any brain voxel")


def report_missing_regions(cases: Sequence[TrainingCase]) -> None:
    """Log once per run when a task has to fall back to a wider region."""
    for task in (2, 3):
        _, region = centre_source(cases, task)
        if region != task:
            log.warning("no training case has a centre for task %d; using task %d's",
                        task, region)


def _draw_centre(cases: Sequence[TrainingCase], task: int,
                 rng: np.random.Generator) -> tuple[TrainingCase, tuple[int, int, int]]:
    """A case uniformly among those with candidates for ``task``, then one of its centres."""
    eligible, region = centre_source(cases, task)
    case = cases[eligible[int(rng.integers(len(eligible)))]]
    candidates = case.centres[region]
    flat = int(candidates[int(rng.integers(len(candidates)))])
    return case, tuple(int(v) for v in np.unravel_index(flat, case.classes.shape))


def sample_batch(cases: Sequence[TrainingCase], tasks: Sequence[int], per_task: int,
                 patch_size: Sequence[int], rng: np.random.Generator,
                 augment: AugmentSettings, task1_tumour_share: float = 0.0,
                 augmenter: Callable | None = None) -> Batch:
    """Draw ``per_task`` patches for each task in ``tasks``, concatenated in task order.

    ``task1_tumour_share`` (0 in the paper) centres that fraction of task 1's patches, on
    average, in task 2's region instead (tumour oversampling for very short runs).
    ``augmenter`` (:class:`omnet.training.augmentation.TorchioAugmenter`) transforms a
    crop ``augmenter.margin`` larger than the patch before the flips and intensity shifts.
    """
    images, classes, source, origins = [], [], [], []
    for task in tasks:
        for _ in range(per_task):
            region = task
            if task == 1 and task1_tumour_share > 0 and rng.random() < task1_tumour_share:
                region = 2
            case, centre = _draw_centre(cases, region, rng)
            if augmenter is not None:
                crop = [p + 2 * m for p, m in zip(patch_size, augmenter.margin)]
                image, label = augmenter(extract_patch(case.images, centre, crop, np.float32),
                                         extract_patch(case.classes, centre, crop), rng,
                                         patch_size)
            else:
                image = extract_patch(case.images, centre, patch_size, np.float32)
                label = extract_patch(case.classes, centre, patch_size)
            image, label = augment_patch(image, label, rng, augment)
            images.append(image)
            classes.append(label)
            source.append(task)
            origins.append((case.case_id, centre))
    return Batch(images=np.stack(images), classes=np.stack(classes),
                 source=np.asarray(source, dtype=np.int64), origins=origins)
