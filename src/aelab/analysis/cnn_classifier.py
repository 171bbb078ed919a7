"""AE output as CNN input (seed 001): a small CNN trained on original images, then shown AE and PCA
reconstructions; the accuracy it keeps says how much of what a classifier needs survives the bottleneck."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from aelab.analysis.codes import Batchwise, iterate_float_batches
from aelab.data.tensor_data import to_unit_float


class SmallCNN(nn.Module):
    """Two stride-2 conv-ReLU layers and a linear head; adaptive pooling lets it take any image size and channel count.

    Strided convolutions instead of conv + max-pool: a quarter of the arithmetic for about the same accuracy, which
    keeps the report fast.
    """

    def __init__(self, in_channels: int, num_classes: int, width: int = 32) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(4),
        )
        self.head = nn.Linear(2 * width * 16, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


def train_cnn(
    images_uint8: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    epochs: int = 3,
    batch_size: int = 128,
    lr: float = 3e-3,
    width: int = 32,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> SmallCNN:
    """A SmallCNN fit with Adam on uint8 images (N, C, H, W); seeded, so the same data gives the same classifier."""
    if epochs <= 0 or len(images_uint8) == 0:
        raise ValueError(f"the CNN needs at least one epoch and one image; got {epochs} epochs, {len(images_uint8)}")
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        cnn = SmallCNN(images_uint8.shape[1], num_classes, width).to(device)
    optimizer = torch.optim.Adam(cnn.parameters(), lr=lr)
    cnn.train()
    for _ in range(epochs):
        order = torch.randperm(len(images_uint8), generator=generator)
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            x = to_unit_float(images_uint8[index], device)
            loss = F.cross_entropy(cnn(x), labels[index].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return cnn.eval()


@torch.no_grad()
def cnn_accuracy(
    cnn: nn.Module,
    images_uint8: torch.Tensor,
    labels: torch.Tensor,
    transform: Batchwise | None = None,
    batch_size: int = 512,
    device: torch.device | str = "cpu",
) -> float:
    """Accuracy of ``cnn`` on the images, or on ``transform`` of them (an AE's or PCA's reconstruction, clipped
    to [0, 1] like an image)."""
    cnn.eval()
    correct = 0
    for start, x in zip(
        range(0, len(images_uint8), batch_size), iterate_float_batches(images_uint8, batch_size, device)
    ):
        if transform is not None:
            x = transform(x).to(x.device).view_as(x).float().clamp(0, 1)
        predicted = cnn(x).argmax(1).cpu()
        correct += int((predicted == labels[start : start + batch_size]).sum())
    return correct / max(len(images_uint8), 1)


@torch.no_grad()
def predict(cnn: nn.Module, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Class predictions (N,) for float images in [0, 1] (decoded codes, say), on the CNN's device."""
    device = next(cnn.parameters()).device
    cnn.eval()
    return torch.cat(
        [cnn(images[i : i + batch_size].to(device)).argmax(1).cpu() for i in range(0, len(images), batch_size)]
    )
