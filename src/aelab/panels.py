"""Image panels: rows of images made into one grid, and images handed to whichever loggers are active.

W&B gets an RGB array, TensorBoard an image summary; other loggers (CSV) keep images as PNG files, and so does a run
without loggers. The training callbacks log their grids with ``log_image_grid``; evaluate.py's report draws its
figures on the same grids (report/figures.py) and logs the PNGs with ``log_figure``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import Logger, TensorBoardLogger, WandbLogger
from torchvision.utils import make_grid, save_image

PADDING = 2  # pixels between the images of a grid (white)


def image_grid(rows: Sequence[torch.Tensor]) -> torch.Tensor:
    """Stack equal-length rows of (N, C, H, W) images in [0, 1] into one (3, H', W') grid."""
    images = torch.cat([r.detach().float().cpu().clamp(0, 1) for r in rows])
    return make_grid(images, nrow=len(rows[0]), padding=PADDING, pad_value=1.0)


def send_image(
    loggers: Sequence[Logger], key: str, image: torch.Tensor | np.ndarray, caption: str = "", step: int | None = None
) -> list[Logger]:
    """Log ``image`` under ``key`` to each W&B and TensorBoard logger; returns the other loggers, which cannot show
    images. ``image`` is a (3, H, W) float tensor in [0, 1] (a grid) or an (H, W, 3) uint8 array (a figure's PNG)."""
    others = []
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            if isinstance(image, torch.Tensor):
                array = (image.permute(1, 2, 0).numpy() * 255).round().astype("uint8")
            else:
                array = image
            logger.log_image(key=key, images=[array], caption=[caption] if caption else None)
        elif isinstance(logger, TensorBoardLogger):
            layout = "CHW" if isinstance(image, torch.Tensor) else "HWC"
            logger.experiment.add_image(key, image, global_step=step, dataformats=layout)
        else:
            others.append(logger)
    return others


def log_image_grid(trainer: pl.Trainer, key: str, grid: torch.Tensor, caption: str = "") -> list[Path]:
    """Log ``grid`` under ``key`` to every logger of ``trainer``; returns the PNG files written, if any."""
    step = trainer.global_step
    others = send_image(trainer.loggers, key, grid, caption, step)
    written = [
        _save_png(Path(logger.log_dir or logger.save_dir or trainer.default_root_dir), key, step, grid)
        for logger in others
    ]
    if not trainer.loggers:
        written.append(_save_png(Path(trainer.default_root_dir), key, step, grid))
    return written


def log_figure(loggers: Sequence[Logger], key: str, png: Path, caption: str) -> None:
    """Log a figure already saved as ``png`` to W&B (with its caption) and TensorBoard; other loggers need nothing
    more, since the file is already in the report folder."""
    import matplotlib.image  # here: matplotlib serves the report only

    send_image(loggers, key, (matplotlib.image.imread(png)[..., :3] * 255).round().astype(np.uint8), caption)


def _save_png(folder: Path, key: str, step: int, grid: torch.Tensor) -> Path:
    path = folder / "images" / f"{key.replace('/', '_')}_step{step:07d}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(grid, path)
    return path
