"""Image panels: rows of images made into one grid, and images handed to whichever loggers are active.

W&B gets an RGB array, TensorBoard an image summary, and every run, whatever its loggers, keeps each panel as a PNG
with named rows in its run folder (panels/). The training callbacks log their grids with ``log_image_grid``; evaluate.py's report draws its
figures on the same grids (report/figures.py) and logs the PNGs with ``log_figure``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import Logger, TensorBoardLogger, WandbLogger
from torchvision.utils import make_grid

from aelab.files import write_bytes_atomic

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


def log_image_grid(
    trainer: pl.Trainer, key: str, rows: Sequence[torch.Tensor], caption: str = "", row_names: Sequence[str] = ()
) -> Path:
    """Log the grid of ``rows`` under ``key`` to the W&B and TensorBoard loggers of ``trainer`` and, whatever the
    loggers, write it as a PNG with its rows named to ``<run folder>/panels/<key>_epoch<NNN>.png``; returns that path."""
    grid = image_grid(rows)
    send_image(trainer.loggers, key, grid, caption, trainer.global_step)
    name = f"{key.replace('/', '_')}_epoch{trainer.current_epoch + 1:03d}.png"
    path = Path(trainer.default_root_dir) / "panels" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, labelled_png(grid, row_names, rows[0].shape[-2]))
    return path


def labelled_png(grid: torch.Tensor, row_names: Sequence[str], cell: int, min_cell: int = 84) -> bytes:
    """A grid as PNG bytes, enlarged (nearest neighbour, whole multiples) so a cell is at least ``min_cell`` pixels
    high, with each row's name in a white margin on the left."""
    from PIL import Image, ImageDraw, ImageFont  # Pillow comes with torchvision

    scale = max(1, -(-min_cell // max(cell, 1)))
    array = (grid.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    image = Image.fromarray(array).resize((array.shape[1] * scale, array.shape[0] * scale), Image.NEAREST)
    font = ImageFont.load_default(size=max(12, min(18, cell * scale // 5)))
    margin = 10 + max((int(font.getlength(n)) for n in row_names), default=-10)
    canvas = Image.new("RGB", (image.width + margin, image.height), "white")
    canvas.paste(image, (margin, 0))
    draw = ImageDraw.Draw(canvas)
    for i, name in enumerate(row_names):
        middle = (PADDING + i * (cell + PADDING) + cell / 2) * scale
        draw.text((4, middle), name, fill="black", font=font, anchor="lm")
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()


def log_figure(loggers: Sequence[Logger], key: str, png: Path, caption: str) -> None:
    """Log a figure already saved as ``png`` to W&B (with its caption) and TensorBoard; other loggers need nothing
    more, since the file is already in the report folder."""
    import matplotlib.image  # here: matplotlib serves the report only

    send_image(loggers, key, (matplotlib.image.imread(png)[..., :3] * 255).round().astype(np.uint8), caption)
