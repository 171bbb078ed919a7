"""``trainer.precision=auto`` (the default): the fastest precision this machine trains well in, chosen when the run
starts and said in its first line.

bf16 autocast pays where the hardware has bf16 units: a CUDA GPU that supports bf16, or, for conv nets, a CPU with
AMX or AVX-512 bf16 instructions (there they also take the NHWC layout, ``model.channels_last``). Elsewhere fp32, and
always for a PCA-anchored net: its promise is to start at clipped PCA-k exactly, and bf16 rounding would put its start
a little behind PCA. The choice is justified by test MSE at equal wall-clock time, not by images per second
(benchmarks/results.md, Time to quality); dense nets on a CPU were not measured to gain, so they stay in fp32.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from omegaconf import DictConfig, open_dict

log = logging.getLogger(__name__)

BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
CONV_ENCODERS = ("ConvEncoder", "StridedConvEncoder", "DeepConvEncoder")


def cpu_flags() -> set[str]:
    """The CPU's feature flags (Linux /proc/cpuinfo; empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    line = next((row for row in text.splitlines() if row.startswith("flags")), "")
    return set(line.partition(":")[2].split())


def on_gpu(accelerator: str) -> bool:
    return accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())


def automatic_precision(accelerator: str, flags: set[str] | None = None) -> tuple[str, str]:
    """(Lightning precision, why) for a run on ``accelerator``."""
    if on_gpu(accelerator):
        if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
            return "bf16-mixed", f"bf16 autocast on {torch.cuda.get_device_name()}"
        return "32-true", "fp32: this GPU has no bf16"
    found = sorted(set(BF16_CPU_FLAGS) & (cpu_flags() if flags is None else flags))
    if found:
        return "bf16-mixed", f"bf16 autocast: this CPU has bf16 units ({', '.join(found)})"
    return "32-true", "fp32: this CPU has no bf16 units (no amx_bf16 or avx512_bf16)"


def automatic_choice(cfg: DictConfig, flags: set[str] | None = None) -> tuple[str, str]:
    """(Lightning precision, why) for the run ``cfg`` describes."""
    accelerator = str(cfg.trainer.get("accelerator", "auto"))
    if cfg.model.get("anchor"):
        return "32-true", "fp32: a PCA-anchored net (model.anchor) starts at clipped PCA-k exactly only in fp32"
    conv = str((cfg.model.get("encoder") or {}).get("_target_", "")).rsplit(".", 1)[-1] in CONV_ENCODERS
    if not conv and not on_gpu(accelerator):
        return "32-true", "fp32: on a CPU, bf16 is measured to pay for conv nets only"
    return automatic_precision(accelerator, flags)


def choose_precision(cfg: DictConfig, flags: set[str] | None = None) -> str | None:
    """Replace ``trainer.precision=auto`` by the machine's choice (and NHWC for conv nets in bf16 on a CPU); the line
    that says what was chosen and why, or None when the precision was set by hand."""
    if str(cfg.trainer.get("precision")) != "auto":
        return None
    precision, why = automatic_choice(cfg, flags)
    nhwc = precision == "bf16-mixed" and not on_gpu(str(cfg.trainer.get("accelerator", "auto")))
    with open_dict(cfg):
        cfg.trainer.precision = precision
        if nhwc:
            cfg.model.channels_last = True
    layout = " and the NHWC layout (model.channels_last)" if nhwc else ""
    return f"trainer.precision=auto: {precision}{layout}; {why}. Opt out with trainer.precision=32-true"
