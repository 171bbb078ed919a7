"""Shared by the benchmark scripts: where the data is, the machine they ran on, and running train.py."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


def data_overrides(data: str, fashion_dir: Path = DEBIAN_FASHION) -> list[str]:
    """Hydra overrides for a benchmark data choice: fashion (Debian's full set) or sample (embedded MNIST)."""
    if data == "fashion":
        if not Path(fashion_dir).is_dir():
            sys.exit(f"{fashion_dir} is missing: apt-get install dataset-fashion-mnist (or pass --data sample)")
        return ["data=fashion_mnist", f"data.data_dir={fashion_dir}"]
    return ["data=mnist", "data.source=sample", "data.download=false"]


def cpu_model() -> str:
    """The CPU's model name and its widest vector units ('with AVX-512 and AMX'): this project's machines differ by
    session, and an AVX2-only AMD EPYC trains the conv presets well over twice as slowly as an Intel Xeon with AVX-512
    and AMX, so a figure must say which."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    name = re.search(r"^model name\s*:\s*(.+)$", info, re.MULTILINE)
    flags = re.search(r"^flags\s*:\s*(.+)$", info, re.MULTILINE)
    have = set(flags.group(1).split()) if flags else set()
    units = [unit for flag, unit in (("avx512f", "AVX-512"), ("amx_tile", "AMX")) if flag in have]
    units = units or (["AVX2"] if "avx2" in have else [])
    model = name.group(1).strip().replace(",", "") if name else platform.machine()
    return f"{model} with {' and '.join(units)}" if units else model


def machine() -> str:
    cpu = cpu_model()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{os.cpu_count()} CPU cores ({cpu}), {gpu}, torch {torch.__version__}, Python {platform.python_version()}"


def run_train(overrides: list[str], out_dir: Path, env: dict[str, str] | None = None) -> tuple[dict, float]:
    """Run train.py as a user would; return its results.json ({} when it tested nothing) and the seconds."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(ROOT / "train.py"), f"hydra.run.dir={out_dir}", *overrides]
    print("$", " ".join(cmd[1:]), flush=True)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    (out_dir / "stdout.log").write_text(proc.stdout + "\n" + proc.stderr)
    if proc.returncode != 0:
        sys.exit(f"train.py failed ({proc.returncode}); see {out_dir / 'stdout.log'}\n{proc.stderr[-2000:]}")
    results = out_dir / "results.json"
    return (json.loads(results.read_text()) if results.is_file() else {}), seconds
