"""The README's "Use a trained autoencoder" and "Tables" sections run as written: their Python blocks and command
lines."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from aelab.data.synthetic import write_split
from tests.conftest import ROOT


def section_blocks(language: str, heading: str = "Use a trained autoencoder") -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.S)


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WANDB_MODE": "offline"}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_the_readme_reducer_script_then_its_cli_lines_then_onnxruntime(tmp_path):
    write_split(tmp_path / "my_photos", 20, np.random.default_rng(0), classes=("forest", "sea", "street"))
    script, onnx_script = section_blocks("python")
    assert "max_epochs=100" in script
    result = run([sys.executable, "-c", script.replace("max_epochs=100", "max_epochs=1")], tmp_path)  # fewer: a test
    assert result.returncode == 0, result.stderr[-3000:]
    assert "(20, 16) (20, 32, 32, 3) uint8" in result.stdout and "accuracy on the new photos:" in result.stdout
    assert "'pca': 'clipped PCA-16'" in result.stdout  # compare() on the held-out photos

    ckpt = sorted(tmp_path.glob("outputs/reducer/*/checkpoints/last.ckpt"))[-1]
    (commands,) = section_blocks("bash")
    for line in commands.strip().splitlines():
        args = shlex.split(line.replace("outputs/train/runs/<run>/checkpoints/last.ckpt", str(ckpt)))
        if "format=onnx" in line:
            pytest.importorskip("onnxruntime")
        done = run([sys.executable, *args[1:]], tmp_path)
        assert done.returncode == 0, (line, done.stderr[-3000:])
    assert len(__import__("pandas").read_parquet(tmp_path / "codes.parquet")) == 60
    result = run([sys.executable, "-c", onnx_script + "\nprint(codes.shape)"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "(4, 16)" in result.stdout


def test_the_readme_tables_example_fits_in_memory_and_answers_in_the_tables_units(tmp_path):
    (script,) = section_blocks("python", "Tables")
    check = "\nimport os\nassert rows.shape == X.shape and abs(rows.mean() - X.mean()) < 0.1 * X.mean()\nprint(os.listdir('.'))"
    result = run([sys.executable, "-c", script + check], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "'pca': 'PCA-2'" in result.stdout and result.stdout.rstrip().endswith("[]")  # nothing written
