"""Training-time augmentation of whole uint8 batches: random horizontal flips and small random shifts.

An autoencoder's target is its input, so an augmented image is both: the model simply sees more (plausible) images.
That is what closes the gap between training and test error of a large net on a small data set (the deep dense AE
overfits Fashion-MNIST's 54k training images). The data module applies it to training batches only, before they are
copied to the device; validation, test and every analysis see the images as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F


class BatchAugment:
    """Flip each image left-right with probability ``hflip`` and shift it by up to ``max_shift`` pixels in each
    direction (zeros fill the border). Flips suit natural scenes and most clothes, not digits."""

    def __init__(self, hflip: float = 0.0, max_shift: int = 0) -> None:
        if not 0.0 <= hflip <= 1.0:
            raise ValueError(f"data.augment.hflip is a probability in [0, 1], got {hflip}; use 0 to turn flips off.")
        if isinstance(max_shift, bool) or not isinstance(max_shift, int) or max_shift < 0:
            raise ValueError(
                f"data.augment.max_shift is a whole number of pixels >= 0, got {max_shift!r}; use 0 for no shifts."
            )
        self.hflip = float(hflip)
        self.max_shift = max_shift

    @property
    def active(self) -> bool:
        return self.hflip > 0 or self.max_shift > 0

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        if images.ndim != 4:
            raise ValueError(f"augmentation expects image batches (B, C, H, W), got shape {tuple(images.shape)}")
        if self.hflip > 0:
            flip = torch.rand(len(images), device=images.device) < self.hflip
            images = torch.where(flip[:, None, None, None], images.flip(-1), images)
        if self.max_shift > 0:
            images = self._shift(images)
        return images

    def _shift(self, images: torch.Tensor) -> torch.Tensor:
        s, (h, w) = self.max_shift, images.shape[-2:]
        if s >= min(h, w):
            raise ValueError(f"data.augment.max_shift={s} is not smaller than the {h}x{w} images; use a smaller shift")
        padded = F.pad(images, (s, s, s, s))
        offsets = torch.randint(0, 2 * s + 1, (2, len(images)), device=images.device)
        out = torch.empty_like(images)
        for dy in range(2 * s + 1):  # at most (2s+1)^2 slices, each a gather of the images with that offset
            for dx in range(2 * s + 1):
                hit = (offsets[0] == dy) & (offsets[1] == dx)
                if hit.any():
                    out[hit] = padded[hit, :, dy : dy + h, dx : dx + w]
        return out

    def __repr__(self) -> str:
        return f"BatchAugment(hflip={self.hflip}, max_shift={self.max_shift})"


def build_augment(spec: Mapping[str, Any] | None) -> BatchAugment | None:
    """``data.augment`` (a mapping of BatchAugment's arguments, or null) as a BatchAugment, None when it does
    nothing. Unknown keys are refused with the known ones."""
    if not spec:
        return None
    known = ("hflip", "max_shift")
    unknown = sorted(set(spec) - set(known))
    if unknown:
        raise ValueError(f"data.augment has unknown option(s) {unknown}; the options are {list(known)}")
    augment = BatchAugment(**dict(spec))
    return augment if augment.active else None
