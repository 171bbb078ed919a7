"""Hand one image grid to whichever loggers are active: W&B, TensorBoard, or PNG files (CSV and others)."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import TensorBoardLogger, WandbLogger
from torchvision.utils import make_grid, save_image


def image_grid(rows: list[torch.Tensor]) -> torch.Tensor:
    """Stack equal-length rows of (N, C, H, W) images in [0, 1] into one (3, H', W') grid."""
    ncol = len(rows[0])
    images = torch.cat([r.detach().float().cpu().clamp(0, 1) for r in rows])
    return make_grid(images, nrow=ncol, padding=2, pad_value=1.0)


def log_image_grid(trainer: pl.Trainer, key: str, grid: torch.Tensor, caption: str = "") -> list[Path]:
    """Log ``grid`` under ``key`` to every logger of ``trainer``; returns the PNG files written, if any."""
    written: list[Path] = []
    step = trainer.global_step
    loggers = trainer.loggers
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            array = (grid.permute(1, 2, 0).numpy() * 255).round().astype("uint8")
            logger.log_image(key=key, images=[array], caption=[caption] if caption else None)
        elif isinstance(logger, TensorBoardLogger):
            logger.experiment.add_image(key, grid, global_step=step)
        else:
            written.append(
                _save_png(Path(logger.log_dir or logger.save_dir or trainer.default_root_dir), key, step, grid)
            )
    if not loggers:
        written.append(_save_png(Path(trainer.default_root_dir), key, step, grid))
    return written


def _save_png(folder: Path, key: str, step: int, grid: torch.Tensor) -> Path:
    path = folder / "images" / f"{key.replace('/', '_')}_step{step:07d}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(grid, path)
    return path
