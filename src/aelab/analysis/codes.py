"""Codes of a whole image set, computed in batches without gradients."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

from aelab.data.tensor_data import to_unit_float

# An encoder, a decoder or a whole reconstruction, as the analyses take them: a batch in, a batch out. Any model's
# (or PCA's) bound method fits, so analyses never need the model itself.
Batchwise = Callable[[torch.Tensor], torch.Tensor]


def iterate_float_batches(
    images_uint8: torch.Tensor, batch_size: int, device: torch.device | str = "cpu"
) -> Iterator[torch.Tensor]:
    """uint8 (N, C, H, W) -> float [0, 1] batches on ``device``."""
    for start in range(0, len(images_uint8), batch_size):
        yield to_unit_float(images_uint8[start : start + batch_size], device)


@torch.no_grad()
def encode_images(
    encode: Batchwise, images_uint8: torch.Tensor, batch_size: int = 1024, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """Flat float32 codes (N, k) on the CPU."""
    codes = [encode(x).flatten(1).float().cpu() for x in iterate_float_batches(images_uint8, batch_size, device)]
    return torch.cat(codes)
