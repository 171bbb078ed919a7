"""The bare training loop the speed figures hold train.py against: the loop a PyTorch user writes instead.

One copy for every script that times it (speed_vs_keras, gpu_conv_deep), so the yardstick is the
same loop everywhere and carries none of aelab's costs: each batch to float in [0, 1] (uint8 / 255, as the
AutoEncoder does on its device; float batches as they are), optionally channels_last and autocast, model(x), MSE
against x, zero_grad, backward, step. Nothing else: no hooks, no logging, no checks.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


def train_steps(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: Iterable[torch.Tensor],
    channels_last: bool = False,
    autocast: Any = None,
) -> int:
    """One optimizer step per batch; the images seen."""
    images = 0
    for x in batches:
        if x.dtype == torch.uint8:
            x = x.float().div_(255.0)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast or contextlib.nullcontext():
            loss = F.mse_loss(model(x), x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        images += len(x)
    return images


def timed_epochs(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: Callable[[], Iterable[torch.Tensor]],
    epochs: int,
    validate: Callable[[], Any] | None = None,
) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each of ``epochs`` epochs: train mode and ``batches()``'s steps, then, inside the
    epoch's time, ``validate()`` in eval mode without gradients (None: training only)."""
    wall, cpu = [], []
    for _ in range(epochs):
        start, cpu_start = time.perf_counter(), time.process_time()
        model.train()
        train_steps(model, optimizer, batches())
        if validate is not None:
            model.eval()
            with torch.no_grad():
                validate()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
    return wall, cpu
