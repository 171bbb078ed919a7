"""Image-quality metrics logged on validation and test, and the reconstruction losses by name."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchmetrics import MeanSquaredError, Metric, MetricCollection
from torchmetrics.image import PeakSignalNoiseRatio

from aelab.ssim import ssim_per_image


class RoundedAccuracy(Metric):
    """Share of pixels where round(x) == round(x_hat): seed 002's "rounded accuracy" for images in [0, 1]."""

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.add_state("correct", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("total", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        self.correct += (preds.round() == target.round()).sum()
        self.total += target.numel()

    def compute(self) -> torch.Tensor:
        return self.correct.float() / self.total


class SSIM(Metric):
    """Mean SSIM over all images seen, on images in [0, 1] (``ssim_per_image``)."""

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.add_state("total", default=torch.tensor(0.0), dist_reduce_fx="sum")
        self.add_state("count", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        self.total += ssim_per_image(preds, target).sum()
        self.count += len(preds)

    def compute(self) -> torch.Tensor:
        return self.total / self.count


def image_metrics(prefix: str, shape: tuple[int, ...] = (1, 28, 28)) -> MetricCollection:
    """MSE, PSNR, SSIM and rounded accuracy on images in [0, 1], logged as ``<prefix>mse`` etc. Table rows
    (shape (1, 1, F): any range, no 2-D neighbourhood) get the MSE alone."""
    if is_table_shape(shape):
        return MetricCollection({"mse": MeanSquaredError()}, prefix=prefix)
    return MetricCollection(
        {
            "mse": MeanSquaredError(),
            "psnr": PeakSignalNoiseRatio(data_range=1.0),
            "ssim": SSIM(),
            "rounded_acc": RoundedAccuracy(),
        },
        prefix=prefix,
    )


def is_table_shape(shape: tuple[int, ...]) -> bool:
    """Whether inputs of this (C, H, W) are table rows (1, 1, F) rather than images."""
    return len(shape) == 3 and shape[0] == 1 and shape[1] == 1


def code_statistics(z: torch.Tensor, zero_threshold: float, prefix: str) -> dict[str, torch.Tensor]:
    """Mean code activation and the share of code values within ``zero_threshold`` of zero (sparsity)."""
    z = z.detach().float()
    return {f"{prefix}code_mean": z.mean(), f"{prefix}code_near_zero": (z.abs() <= zero_threshold).float().mean()}


class CodeStatistics(Metric):
    """``code_statistics`` accumulated over an epoch (and across processes)."""

    is_differentiable = False
    full_state_update = False

    def __init__(self, prefix: str, zero_threshold: float = 1e-3, **kwargs) -> None:
        super().__init__(**kwargs)
        self.prefix = prefix
        self.zero_threshold = float(zero_threshold)
        self.add_state("total", default=torch.tensor(0.0), dist_reduce_fx="sum")
        self.add_state("near_zero", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("count", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, z: torch.Tensor) -> None:
        z = z.detach()
        self.total += z.float().sum()
        self.near_zero += (z.abs() <= self.zero_threshold).sum()
        self.count += z.numel()

    def compute(self) -> dict[str, torch.Tensor]:
        count = self.count.clamp(min=1)
        return {
            f"{self.prefix}code_mean": self.total / count,
            f"{self.prefix}code_near_zero": self.near_zero.float() / count,
        }


def mse_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(x_hat, x)


def bce_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy on sigmoid outputs, in float32 (autocast refuses it in half precision)."""
    eps = 1e-7
    return F.binary_cross_entropy(x_hat.float().clamp(eps, 1 - eps), x.float())


LOSSES = {"mse": mse_loss, "bce": bce_loss}


def reconstruction_loss(name: str):
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}") from None
