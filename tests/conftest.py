"""Shared fixtures: composed Hydra configs, real IDX files in tmp_path, and W&B in offline mode."""

from __future__ import annotations

import os

# The suite trains tiny models, often in several processes at once (DDP, CLI and notebook tests): one BLAS/OpenMP
# thread each is faster than pools that oversubscribe a 2-core machine (measured up to 10x on PCA fits). Set before
# torch is imported; subprocesses inherit it. Export OMP_NUM_THREADS to override.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from aelab.data.idx import write_idx
from aelab.data.mnist import FILES, load_embedded_sample

os.environ["WANDB_MODE"] = "offline"
os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("WANDB_DISABLE_GIT", "true")

ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = ROOT / "src" / "aelab" / "conf"

# A few batches of everything, on the CPU, with CSV logging: the fast default for tests that train.
FAST = [
    "trainer.accelerator=cpu",
    "trainer.precision=32-true",  # the same arithmetic on every CI machine, bf16 units or not (auto has its tests)
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=3",
    "trainer.limit_val_batches=2",
    "trainer.limit_test_batches=2",
    "trainer.num_sanity_val_steps=0",
    "trainer.enable_progress_bar=false",
    "callbacks.progress_bar=null",
    "callbacks.model_summary=null",
    "logger=csv",
    "callbacks.pca_baseline.max_fit_samples=1000",
    "callbacks.pca_baseline.probe_train_samples=500",
    "callbacks.latent_probe.train_samples=500",
]


def compose_config(tmp_path: Path, overrides: list[str] | tuple[str, ...] = (), name: str = "train") -> DictConfig:
    """The config train.py / evaluate.py would see, with every path inside ``tmp_path``."""
    paths = [f"paths.root_dir={tmp_path}", f"paths.output_dir={tmp_path / 'run'}"]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name=name, overrides=[*paths, *overrides])


# The suite's net unless a test names a model or an experiment: the dense AE trains a batch in milliseconds, the
# default conv_strided in tens of them. The default model itself is trained by the CLI and README tests.
TEST_MODEL = "model=dense"


def fast_overrides(overrides: tuple[str, ...] | list[str]) -> list[str]:
    names_a_model = any(o.startswith(("model=", "experiment=", "sweep=")) for o in overrides)
    return [*FAST, *([] if names_a_model else [TEST_MODEL]), *overrides]


@pytest.fixture
def make_config(tmp_path: Path):
    def factory(*overrides: str, name: str = "train", fast: bool = True) -> DictConfig:
        return compose_config(tmp_path, fast_overrides(overrides) if fast and name == "train" else overrides, name=name)

    return factory


def write_idx_set(folder: Path, n_train: int = 600, n_test: int = 200, gz: bool = True) -> Path:
    """Real MNIST digits written as the four IDX files (a small stand-in for the full set)."""
    images, labels = load_embedded_sample()
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    parts = {
        "train_images": images[:n_train, 0],
        "train_labels": labels[:n_train],
        "test_images": images[n_train : n_train + n_test, 0],
        "test_labels": labels[n_train : n_train + n_test],
    }
    for key, array in parts.items():
        write_idx(folder / f"{FILES[key]}{suffix}", np.asarray(array, dtype=np.uint8))
    return folder


@pytest.fixture
def flat_idx_dir(tmp_path: Path) -> Path:
    """A flat folder with the four *-ubyte.gz files, like Debian's dataset-fashion-mnist."""
    return write_idx_set(tmp_path / "flat")


@pytest.fixture
def torchvision_idx_dir(tmp_path: Path) -> Path:
    """torchvision's layout after a download: <root>/MNIST/raw/<uncompressed files>."""
    root = tmp_path / "tv"
    write_idx_set(root / "MNIST" / "raw", gz=False)
    return root


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Path:
    """One short run (dense AE, MNIST sample, 2 epochs) whose checkpoints several tests read but never change."""
    from aelab.pipeline import train

    tmp = tmp_path_factory.mktemp("trained")
    cfg = compose_config(tmp, fast_overrides(["data.source=sample", "trainer.max_epochs=2"]))
    train(cfg)
    return Path(cfg.paths.output_dir)
