"""Codes as compression (seeds 003, 004): bytes of a code, float32 and 8-bit quantised, against the image's bytes,
and the reconstruction error at each size."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from aelab.analysis.codes import Batchwise, iterate_float_batches


@dataclass
class MinMaxQuantiser:
    """Per-dimension min-max quantisation to ``bits`` bits, fit on training codes.

    Each code dimension is mapped linearly from [low, high] onto the integers 0..2^bits - 1; the dequantised
    value is within half a step (``scale / 2``) of the original for codes inside the fitted range.
    """

    low: torch.Tensor
    scale: torch.Tensor
    bits: int = 8

    @classmethod
    def fit(cls, codes: torch.Tensor, bits: int = 8) -> MinMaxQuantiser:
        if not 1 <= bits <= 16:
            raise ValueError(f"quantisation bits must be between 1 and 16, got {bits}")
        codes = codes.flatten(1).float()
        low, high = codes.min(0).values, codes.max(0).values
        scale = (high - low).clamp_min(1e-12) / (2**bits - 1)  # a constant dimension keeps a tiny, safe step
        return cls(low=low, scale=scale, bits=bits)

    @property
    def levels(self) -> int:
        return 2**self.bits - 1

    def quantise(self, codes: torch.Tensor) -> torch.Tensor:
        """Integer codes (as int32 for any ``bits``; one byte each at 8 bits); out-of-range values saturate."""
        q = torch.round((codes.flatten(1).float() - self.low.to(codes.device)) / self.scale.to(codes.device))
        return q.clamp_(0, self.levels).to(torch.int32)

    def dequantise(self, q: torch.Tensor) -> torch.Tensor:
        return self.low.to(q.device) + q.float() * self.scale.to(q.device)


@dataclass
class CompressionScores:
    image_bytes: int  # one image stored as uint8 pixels
    code_bytes_float32: int  # one code as float32
    code_bytes_quantised: int  # one code at ``bits`` bits per dimension (the per-dimension table is not counted)
    mse_float32: float  # reconstruction MSE from the float32 codes
    mse_quantised: float  # reconstruction MSE from the dequantised codes
    bits: int


@torch.no_grad()
def compression_scores(
    encode: Batchwise,
    decode: Batchwise,
    fit_codes: torch.Tensor,
    test_images_uint8: torch.Tensor,
    bits: int = 8,
    batch_size: int = 512,
    device: torch.device | str = "cpu",
) -> CompressionScores:
    """Sizes and test MSE of float32 and ``bits``-bit codes; the quantiser's range is fit on ``fit_codes`` (codes of
    training images, so test codes outside it saturate as they would in deployment)."""
    quantiser = MinMaxQuantiser.fit(fit_codes.to(device), bits)
    err_float, err_quant, n_values = 0.0, 0.0, 0
    for x in iterate_float_batches(test_images_uint8, batch_size, device):
        z = encode(x).flatten(1)
        err_float += float((decode(z).to(x.device).view_as(x) - x).pow(2).sum())
        z_q = quantiser.dequantise(quantiser.quantise(z))
        err_quant += float((decode(z_q).to(x.device).view_as(x) - x).pow(2).sum())
        n_values += x.numel()
    k = fit_codes.shape[1]
    return CompressionScores(
        image_bytes=math.prod(test_images_uint8.shape[1:]),
        code_bytes_float32=4 * k,
        code_bytes_quantised=math.ceil(k * bits / 8),
        mse_float32=err_float / n_values,
        mse_quantised=err_quant / n_values,
        bits=bits,
    )
