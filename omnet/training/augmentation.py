"""TorchIO augmentation of a training patch: spatial, intensity and acquisition transforms.

The transforms run on a crop ``margin`` voxels larger than the patch on each side (so a
rotation or an elastic warp brings real tissue, not padding, into the patch), then the
patch is cut from its centre. Each sequence is its own TorchIO image, so a thick-slice
re-acquisition (``RandomAnisotropy``) hits one sequence at a time, as a 5 mm FLAIR or T2
does in a hospital. Outside the brain every sequence stays 0, as the network sees it at
inference. TorchIO draws from torch's generator: each call seeds a forked generator from
the caller's numpy generator, so a batch still depends only on (seed, iteration, rank).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from omnet.labels import BACKGROUND, MODALITIES
from omnet.training.config import AugmentSettings

__all__ = ["TorchioAugmenter", "thick_slice_groups", "uses_torchio"]


#: Gaussian sigma (voxels: z from, to; y; x) of a 3-6 mm slice profile on a 1 mm grid:
#: sqrt(thickness^2 - 1) / 2.355.
_SLICE_PROFILE_SIGMA = (1.2, 2.5, 0.0, 0.0, 0.0, 0.0)


def thick_slice_groups(names: Sequence[str], sequences: str) -> list[list[str]]:
    """The sets of sequences one thick-slice re-acquisition may hit, drawn with equal odds.

    ``one``: a single sequence. ``mixed`` adds what hospitals send: 2D FLAIR, T1 and T2
    with a 3D T1c, and all four sequences thick. ``all``: all four alike, always.
    """
    if sequences == "all":
        return [list(names)]
    groups = [[name] for name in names]
    if sequences == "mixed":
        groups.append([name for name in names if name != "t1ce"])
        groups.append(list(names))
    return groups


def uses_torchio(settings: AugmentSettings) -> bool:
    """True when any TorchIO transform has a non-zero probability."""
    return settings.augment and any(p > 0 for p in (
        settings.affine_p, settings.elastic_p, settings.gamma_p, settings.noise_p,
        settings.blur_p, settings.bias_field_p, settings.thick_slice_p))


class TorchioAugmenter:
    """The TorchIO pipeline of ``settings`` applied to (C, z, y, x) crops and their classes.

    Raises:
        ImportError: TorchIO is not installed (``pip install "omnet[train]"``).
    """

    def __init__(self, settings: AugmentSettings) -> None:
        try:
            import torchio as tio
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("TorchIO augmentation needs torchio: "
                              'pip install "omnet[train]"') from exc
        self.tio = tio
        self.settings = settings
        s = settings
        names = list(MODALITIES)
        transforms = []
        if s.affine_p > 0:
            transforms.append(tio.RandomAffine(
                scales=s.scaling, degrees=s.rotation_degrees, isotropic=True,
                default_pad_value=0, p=s.affine_p))
        if s.elastic_p > 0:
            transforms.append(tio.RandomElasticDeformation(
                num_control_points=5, max_displacement=(2.0, 4.0, 4.0), p=s.elastic_p))
        if s.thick_slice_p > 0:
            # axis 0 of our (z, y, x) arrays is the slice axis; 3-6 mm slices, each the
            # average over its thickness (a Gaussian slice profile, FWHM 3-6 mm) as a scanner
            # acquires it, not one thin slice picked out of every few
            transforms.append(tio.OneOf(
                [tio.Compose(
                    ([tio.RandomBlur(std=_SLICE_PROFILE_SIGMA, include=group)]
                     if s.thick_slice_profile else [])
                    + [tio.RandomAnisotropy(axes=(0,), downsampling=(3.0, 6.0), include=group)])
                 for group in thick_slice_groups(names, s.thick_slice_sequences)],
                p=s.thick_slice_p))
        if s.bias_field_p > 0:
            transforms.append(tio.RandomBiasField(coefficients=0.3, p=s.bias_field_p))
        if s.gamma_p > 0:
            transforms.append(tio.RandomGamma(log_gamma=(-0.3, 0.3), p=s.gamma_p))
        if s.blur_p > 0:
            transforms.append(tio.RandomBlur(std=(0.0, 1.0), p=s.blur_p))
        if s.noise_p > 0:
            transforms.append(tio.RandomNoise(std=(0.0, 0.1), p=s.noise_p))
        self.names = names
        self.transform = tio.Compose(transforms)

    @property
    def margin(self) -> tuple[int, int, int]:
        return tuple(int(m) for m in self.settings.margin)

    def __call__(self, image: np.ndarray, classes: np.ndarray, rng: np.random.Generator,
                 patch_size: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Augment a crop (C, z, y, x) with its classes and return the central patch."""
        import torch

        tio = self.tio
        images = {name: tio.ScalarImage(tensor=torch.from_numpy(
            np.ascontiguousarray(image[c:c + 1], dtype=np.float32)))
            for c, name in enumerate(self.names[:image.shape[0]])}
        label = tio.LabelMap(tensor=torch.from_numpy(
            np.ascontiguousarray(classes[None]).astype(np.int16)))
        subject = tio.Subject(**images, classes=label)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(rng.integers(2**62)))
            out = self.transform(subject)
        image = np.concatenate([out[name].data.numpy() for name in images], axis=0)
        classes = out["classes"].data.numpy()[0].astype(np.uint8)
        index = tuple(slice(m, m + p) for m, p in zip(self.margin, patch_size))
        image, classes = image[(slice(None), *index)], classes[index]
        image = np.where(classes[None] == BACKGROUND, np.float32(0), image).astype(np.float32)
        return np.ascontiguousarray(image), np.ascontiguousarray(classes)
