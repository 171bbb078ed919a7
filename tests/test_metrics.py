"""aelab's SSIM gives torchmetrics' values (the figures stay comparable with earlier runs and other tools)."""

from __future__ import annotations

import pytest
import torch
from torchmetrics.functional.image import structural_similarity_index_measure
from torchmetrics.image import StructuralSimilarityIndexMeasure

from aelab.models.metrics import SSIM
from aelab.ssim import ssim_per_image


@pytest.mark.parametrize("shape", [(6, 1, 28, 28), (2, 3, 64, 48), (3, 1, 12, 12)])
def test_ssim_per_image_matches_torchmetrics(shape):
    generator = torch.Generator().manual_seed(0)
    target = torch.rand(shape, generator=generator)
    blurred = torch.nn.functional.avg_pool2d(target, 3, stride=1, padding=1)  # structured, not only noise
    noisy = target + 0.2 * torch.randn(shape, generator=generator)  # leaves [0, 1], as unclipped PCA does
    for preds in (blurred, noisy, target.flip(-1)):
        expected = structural_similarity_index_measure(preds, target, data_range=1.0, reduction="none")
        assert torch.allclose(ssim_per_image(preds, target), expected, atol=1e-5)


def test_ssim_metric_accumulates_like_torchmetrics():
    ours, theirs = SSIM(), StructuralSimilarityIndexMeasure(data_range=1.0)
    generator = torch.Generator().manual_seed(1)
    for size in (5, 3, 8):  # unequal batches: the mean is over images, not over batches
        target = torch.rand(size, 1, 28, 28, generator=generator)
        preds = (target + 0.1 * torch.randn(target.shape, generator=generator)).clamp(0, 1)
        ours.update(preds, target)
        theirs.update(preds, target)
    assert torch.allclose(ours.compute(), theirs.compute(), atol=1e-6)


def test_ssim_refuses_images_smaller_than_its_window():
    with pytest.raises(ValueError, match="larger than 5 pixels"):
        ssim_per_image(torch.rand(1, 1, 5, 28), torch.rand(1, 1, 5, 28))
