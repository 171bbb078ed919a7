"""Send the report's figures to the active loggers: W&B gets images, TensorBoard image summaries; other loggers
(CSV) need nothing more, since the PNGs are already in the report folder."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.image
import numpy as np
from pytorch_lightning.loggers import Logger, TensorBoardLogger, WandbLogger

from aelab.report.writer import ReportFigure


def log_figures(loggers: Sequence[Logger], figures: Sequence[ReportFigure]) -> None:
    """Log each figure as an RGB array under ``report/<name>`` to W&B (with its sentence as caption) and
    TensorBoard."""
    for logger in loggers:
        if not isinstance(logger, WandbLogger | TensorBoardLogger):
            continue
        for figure in figures:
            rgb = (matplotlib.image.imread(figure.path)[..., :3] * 255).round().astype(np.uint8)
            if isinstance(logger, WandbLogger):
                logger.log_image(key=f"report/{figure.key}", images=[rgb], caption=[figure.sentence])
            else:
                logger.experiment.add_image(f"report/{figure.key}", rgb, dataformats="HWC")
