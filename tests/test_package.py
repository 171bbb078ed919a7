"""aelab as an installed package, not a clone: the wheel holds the configs, installs into a fresh environment, and its
console commands and the Python API work from a folder outside the checkout (issue 32, item 1).

The fresh environment gets aelab from the wheel alone; its dependencies (torch and the rest) are borrowed from this
interpreter's site-packages through a path entry, so the test needs no network and installs no second torch.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ("aelab-train", "aelab-evaluate", "aelab-encode", "aelab-decode", "aelab-export")


def run(args: list[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["WANDB_MODE"] = "offline"
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, **kwargs)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A virtual environment holding the wheel built from this checkout (its bin/ folder)."""
    tmp = tmp_path_factory.mktemp("package")
    source = tmp / "source"  # build from a copy: pip would leave build/ and egg-info in the checkout
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip"]
    built = run([*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp / "dist"), "."], source)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp / "dist").glob("aelab-*.whl")
    venv = tmp / "venv"
    assert run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp).returncode == 0
    python = venv / "bin" / "python"
    purelib = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp).stdout
    (Path(purelib.strip()) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = run([*pip, "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)], tmp)
    assert done.returncode == 0, done.stderr
    return venv / "bin"


@pytest.fixture
def outside(tmp_path) -> Path:
    """A working folder with no checkout above it."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    assert not any((p / "pyproject.toml").exists() for p in [folder, *folder.parents])
    return folder


def test_the_wheel_ships_the_configs_and_aelab_imports_from_it(installed, outside):
    found = run([str(installed / "python"), "-c", "import aelab, aelab.conf; print(aelab.__file__)"], outside)
    assert found.returncode == 0, found.stderr
    assert Path(found.stdout.strip()).is_relative_to(installed.parent), "aelab must come from the wheel"
    conf = Path(found.stdout.strip()).parent / "conf"
    assert (conf / "train.yaml").is_file() and (conf / "model" / "conv_strided.yaml").is_file()


def test_every_console_command_prints_its_help(installed, outside):
    script = " & ".join(f'"{installed / c}" --help > "{c}.txt"' for c in COMMANDS)  # side by side: ~5 s each
    assert run(["bash", "-c", f"{script} & wait"], outside).returncode == 0
    for command in COMMANDS:
        text = (outside / f"{command}.txt").read_text()
        assert "== Config groups" in text or "== Composed config" in text, f"{command} --help printed:\n{text}"
    assert "model: " in (outside / "aelab-train.txt").read_text()


def test_the_installed_encode_command_encodes_a_folder_of_images(installed, outside, trained_run):
    photos = outside / "photos" / "digits"
    photos.mkdir(parents=True)
    for i in range(5):
        cv2.imwrite(str(photos / f"{i}.png"), np.full((28, 28), 40 * i, np.uint8))
    ckpt = trained_run / "checkpoints" / "last.ckpt"
    done = run([str(installed / "aelab-encode"), f"ckpt_path={ckpt}", "input=photos", "output=codes.csv"], outside)
    assert done.returncode == 0, done.stderr
    table = (outside / "codes.csv").read_text().splitlines()
    assert len(table) == 1 + 5 and table[0].startswith('"path","label","z0"')


def test_the_installed_reducer_fits_on_image_files(installed, outside):
    photos = outside / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i in range(30):
        cv2.imwrite(str(photos / f"{i}.png"), rng.integers(0, 256, (12, 12, 3), dtype=np.uint8))
    code = (
        "import glob, aelab\n"
        "files = sorted(glob.glob('photos/*.png'))\n"
        "r = aelab.AutoEncoderReducer(latent_dim=3, max_epochs=1, image_size=12, output_dir='fits',\n"
        "    overrides=['trainer.limit_val_batches=1', 'trainer.limit_test_batches=1', 'callbacks.reconstructions=null'])\n"
        "print(r.fit(files).transform(files).shape)\n"
    )
    done = run([str(installed / "python"), "-c", code], outside)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("(30, 3)")
    assert list((outside / "fits").glob("*/checkpoints/*.ckpt"))
