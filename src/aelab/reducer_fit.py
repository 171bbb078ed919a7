"""How ``AutoEncoderReducer.fit`` trains: train.py's pipeline on the data given, in memory unless a run folder is
asked for.

The run folder holds the data as the .npy the data module reads (images: uint8 (N, C, H, W); tables: the rows as
given, scaled inside the model's data module), the checkpoints, logs and results.json. It is a temporary folder,
removed whatever happens, unless ``output_dir`` asks to keep it (evaluate.py then rebuilds the data from it). A
failed fit removes the run folder it started (it keeps it only when checkpoints were written, which its message
names).
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from aelab.baselines.pca import PCA
from aelab.checkpoints import load_model
from aelab.data.decode import UnreadableImage, read_image
from aelab.data.tensor_data import to_unit_float
from aelab.nets.anchored import PCAAnchor

CONF_DIR = Path(__file__).resolve().parent / "conf"  # shipped inside the package
PREPROCESSING_FIELDS = ("shape", "source", "resize", "interpolation")


def train_model(
    data: np.ndarray,
    labels: np.ndarray | None,
    settings: dict[str, Any],
    overrides: Sequence[str],
    run_dir: Path | None,
) -> tuple[torch.nn.Module, dict[str, Any], Path | None]:
    """Train on ``data`` (uint8 images, or a float table when ``settings`` names data=table) with train.py's
    pipeline; the best checkpoint's model and checkpoint dict, and its path when ``run_dir`` keeps it."""
    with tempfile.TemporaryDirectory(prefix="aelab-fit-") as scratch:
        out = run_dir or Path(scratch) / "run"
        out.mkdir(parents=True)
        data_path, labels_path = out / "data.npy", out / "labels.npy"  # a kept run folder keeps them for evaluate.py
        np.save(data_path, data)
        if labels is not None:
            np.save(labels_path, labels)
        settings = settings | {
            "data.path": str(data_path),
            "data.labels_path": str(labels_path) if labels is not None else None,
            "paths.output_dir": str(out),
            "keep_run_folder": run_dir is not None,
        }
        try:
            _train(settings, overrides, labelled=labels is not None)
        except BaseException:
            if run_dir is not None and run_dir.is_dir() and not any(run_dir.glob("checkpoints/*.ckpt")):
                shutil.rmtree(run_dir, ignore_errors=True)
            raise
        best = sorted((out / "checkpoints").glob("epoch*.ckpt")) or [out / "checkpoints" / "last.ckpt"]
        net, checkpoint = load_model(best[-1])
        return net, checkpoint, best[-1] if run_dir is not None else None


def _train(settings: dict[str, Any], overrides: Sequence[str], labelled: bool) -> None:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf, open_dict

    from aelab.pipeline import train

    fixed = ["logger=csv", "callbacks.progress_bar=null", "callbacks.model_summary=null",
             *([] if labelled else ["callbacks.latent_probe=null"])]  # fmt: skip
    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=[f"model={settings.pop('model')}",
                                                       f"data={settings.pop('data')}", *fixed, *overrides])  # fmt: skip
    # values are set on the composed config, not spliced into override strings: any path or name is safe
    yours = {o.split("=", 1)[0].lstrip("+~") for o in overrides}  # your overrides win
    with open_dict(cfg):
        for key, value in settings.items():
            if key not in yours:
                OmegaConf.update(cfg, key, value, merge=False)
    train(cfg)


def side_of_first_image(paths: Sequence[str | Path], cap: int = 128) -> int:
    """The shorter side of the first usable image (read with training's checks), at most ``cap``: the size files train
    at without image_size."""
    for path in paths:
        try:
            image = read_image(Path(path), cv2.IMREAD_UNCHANGED)
        except UnreadableImage:
            continue
        return max(8, min(cap, *image.shape[:2]))
    raise ValueError(f"none of the {len(paths)} files is a readable image")


def run_folder(parent: Path) -> Path:
    """A new folder for one fit, named like train.py's run folders (time and a random suffix)."""
    return parent / f"{time.strftime('%Y-%m-%d_%H-%M-%S')}_{secrets.token_hex(3)}"


def class_folder_labels(paths: Sequence[str | Path]) -> list[str] | None:
    """Each file's parent folder name, the class-folder convention (data=image_folder's too), when the files lie in
    two or more folders; None when they share one (no classes to tell)."""
    parents = [Path(p).parent.name for p in paths]
    return parents if len(set(parents)) > 1 else None


class AnchorPCA:
    """The PCA an anchored model starts from, with the yardstick's ``reconstruct(x)`` and ``components``."""

    def __init__(self, anchor: PCAAnchor) -> None:
        self.anchor = anchor
        self.components = anchor.components

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        anchor = self.anchor.to(x.device)
        return anchor.reconstruct(anchor.project(x)).view_as(x)


def pca_of(model: torch.nn.Module) -> AnchorPCA | None:
    """The fitted PCA inside an anchored model (model.anchor=pca), or None."""
    anchor = next((m for m in model.modules() if isinstance(m, PCAAnchor) and bool(m.fitted)), None)
    return AnchorPCA(anchor) if anchor is not None else None


def fitted_pca(data: torch.Tensor, k: int) -> PCA:
    """PCA-k of the data the reducer was fitted on, as the model sees it (images in [0, 1], scaled table rows)."""
    x = to_unit_float(data) if data.dtype == torch.uint8 else data.float()
    return PCA(min(k, *x.flatten(1).shape)).fit(x)
