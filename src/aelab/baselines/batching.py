"""One batching loop for every reducer: a function over an array in slices, without gradients, results gathered on
the CPU as float32. Memory is bounded by the batch, not by the array."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch


def in_batches(
    fn: Callable[[torch.Tensor], torch.Tensor],
    batches: Iterable[Any],
    device: torch.device | str = "cpu",
    empty_shape: tuple[int, ...] = (0,),
) -> torch.Tensor:
    """``fn`` applied to each batch (numpy or torch, moved to ``device``), concatenated on the CPU as float32."""
    out = []
    with torch.no_grad():
        for batch in batches:
            tensor = torch.from_numpy(batch) if isinstance(batch, np.ndarray) else torch.as_tensor(batch)
            out.append(fn(tensor.to(device)).float().cpu())
    return torch.cat(out) if out else torch.empty(empty_shape)


def slices(x: Any, batch_size: int) -> Iterable[Any]:
    """``x`` in consecutive slices of at most ``batch_size`` rows."""
    return (x[start : start + batch_size] for start in range(0, len(x), batch_size))
