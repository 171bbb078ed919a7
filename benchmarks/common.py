"""Shared by the benchmark scripts: where the data is and where outputs go, the record each script writes (with its
provenance), the machine it ran on, composing the Hydra config and running train.py as a user would.

Light on purpose: importing it loads neither torch nor aelab's models (speed_vs_keras's Keras side imports it, and
torch and TensorFlow in one process crash); the functions that need torch import it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")  # where Debian's dataset-fashion-mnist package puts it
FASHION_ENV = "AELAB_FASHION_DIR"


def add_paths(parser: argparse.ArgumentParser, script: str | None = None, fashion: bool = False) -> None:
    """``--out`` (with ``script``): run folders and caches, outputs/benchmarks/<script> (not committed); and with
    ``fashion``, ``--fashion-dir``: the Fashion-MNIST IDX files, $AELAB_FASHION_DIR or else Debian's folder."""
    if script:
        out = ROOT / "outputs" / "benchmarks" / script
        parser.add_argument("--out", type=Path, default=out, help="run folders and caches (default: %(default)s)")
    if fashion:
        default = Path(os.environ.get(FASHION_ENV) or DEBIAN_FASHION)
        parser.add_argument(
            "--fashion-dir", type=Path, default=default, help=f"the Fashion-MNIST IDX files (${FASHION_ENV}, else {DEBIAN_FASHION})"
        )  # fmt: skip


def fashion_dir(folder: Path) -> Path:
    """``folder`` when it exists; else exit saying how to get Fashion-MNIST there."""
    if not Path(folder).is_dir():
        sys.exit(
            f"Fashion-MNIST is not at {folder}: install it (Debian: apt-get install dataset-fashion-mnist, which puts "
            f"it in {DEBIAN_FASHION}) or pass --fashion-dir DIR (or set {FASHION_ENV})"
        )
    return Path(folder)


def data_overrides(data: str, folder: Path) -> list[str]:
    """Hydra overrides for a benchmark data choice: fashion (the full set in ``folder``) or sample (embedded MNIST)."""
    if data == "fashion":
        return ["data=fashion_mnist", f"data.data_dir={fashion_dir(folder)}"]
    return ["data=mnist", "data.source=sample", "data.download=false"]


def compose(overrides: list[str], config: str = "train") -> Any:
    """conf/<config>.yaml composed with ``overrides``, as train.py (or evaluate.py) would."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    given = {override.split("=", 1)[0] for override in overrides}
    base = [f"{key}=." for key in ("paths.root_dir", "paths.output_dir") if config == "train" and key not in given]
    with initialize_config_dir(config_dir=str(ROOT / "src" / "aelab" / "conf"), version_base="1.3"):
        return hydra_compose(config, overrides=[*base, *overrides])


def fashion_datamodule(folder: Path) -> Any:
    """Fashion-MNIST split as train.py splits it (data=fashion_mnist: 54,000 training and 6,000 validation images,
    ``data.seed`` 0; the official 10,000 test images), every split set up."""
    from aelab.build import build

    overrides = ["data=fashion_mnist", f"data.data_dir={fashion_dir(folder)}", "data.download=false"]
    datamodule = build(compose(overrides).data)
    datamodule.prepare_data()
    datamodule.setup("fit")
    datamodule.setup("test")
    return datamodule


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


def device_name() -> str:
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"


def machine() -> str:
    """One line for tables: '2 CPU cores (<cpu_model()>), no GPU, torch ..., Python ...'."""
    import torch

    gpu = "no GPU" if device_name() == "cpu" else device_name()
    return f"{os.cpu_count()} CPU cores ({cpu_model()}), {gpu}, torch {torch.__version__}, Python {platform.python_version()}"


def git(*args: str) -> str | None:
    """git's output in this repository, or None where git or the repository is missing."""
    try:
        proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def provenance() -> dict[str, Any]:
    """Where a record comes from: when (UTC), which code (HEAD, and whether tracked files differed from it; untracked
    files under outputs/ do not count; both None outside a git checkout) and which machine."""
    import torch

    head, status = git("rev-parse", "HEAD"), git("status", "--porcelain")
    changes = [line for line in (status or "").splitlines() if not line.startswith("?? outputs/")]
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": head.strip() if head else None,
        "dirty": None if status is None else bool(changes),
        "cpu": cpu_model(),
        "threads": torch.get_num_threads(),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "device": device_name(),
        "python": platform.python_version(),
    }


def command() -> str:
    """This script's command line, as results.md quotes it: python -m benchmarks.<name> <arguments>."""
    return " ".join([f"python -m benchmarks.{Path(sys.argv[0]).stem}", *sys.argv[1:]])


def record(payload: Mapping[str, Any]) -> dict[str, Any]:
    """``payload`` with its provenance added (for records that are not a file of their own: a JSON line)."""
    return {**payload, "provenance": provenance()}


def write_record(path: Path, payload: Mapping[str, Any]) -> Path:
    """Write ``payload`` and its provenance as JSON to ``path``, atomically: a killed run leaves the old record or
    the new one, never half of one."""
    from aelab.files import write_text_atomic

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(path, json.dumps(record(payload), indent=2) + "\n")


def run_script(script: str, overrides: list[str], out_dir: Path, env: dict[str, str] | None = None) -> float:
    """Run train.py or evaluate.py as a user would, its Hydra folder ``out_dir`` (stdout.log there); the seconds."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(ROOT / script), f"hydra.run.dir={out_dir}", *overrides]
    print("$", " ".join(cmd[1:]), flush=True)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    (out_dir / "stdout.log").write_text(proc.stdout + "\n" + proc.stderr)
    if proc.returncode != 0:
        sys.exit(f"{script} failed ({proc.returncode}); see {out_dir / 'stdout.log'}\n{proc.stderr[-2000:]}")
    return seconds


def run_train(overrides: list[str], out_dir: Path, env: dict[str, str] | None = None) -> tuple[dict, float]:
    """Run train.py as a user would; return its results.json ({} when it tested nothing) and the seconds."""
    seconds = run_script("train.py", overrides, out_dir, env)
    results = out_dir / "results.json"
    return (json.loads(results.read_text()) if results.is_file() else {}), seconds
