"""Helpers shared by the callbacks: reaching the data module's tensors and deciding when to run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytorch_lightning as pl
import torch


def split_tensors(
    trainer: pl.Trainer, split: str, index: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 images and labels of a split (or of the rows ``index`` of it) of the trainer's data module."""
    return split_dataset(trainer, split).take(index)


def split_size(trainer: pl.Trainer, split: str) -> int:
    return len(split_dataset(trainer, split))


def split_dataset(trainer: pl.Trainer, split: str):
    datamodule = trainer.datamodule
    splits = getattr(datamodule, "splits", None)
    if not splits or split not in splits:
        raise RuntimeError(
            f"this callback needs a data module that exposes .splits['{split}'] (as aelab's data modules do); "
            f"got {type(datamodule).__name__}"
        )
    return splits[split]


def seeded_subset(n_total: int, n: int, seed: int) -> torch.Tensor:
    """``n`` fixed indices out of ``n_total`` (all of them when n >= n_total)."""
    if n >= n_total:
        return torch.arange(n_total)
    generator = torch.Generator().manual_seed(seed)
    return torch.randperm(n_total, generator=generator)[:n].sort().values


def is_due(trainer: pl.Trainer, every_n_epochs: int) -> bool:
    """True on every n-th epoch and on the last one; never during the sanity check."""
    if trainer.sanity_checking or every_n_epochs <= 0:
        return False
    epoch = trainer.current_epoch + 1
    last = trainer.max_epochs is not None and epoch >= trainer.max_epochs
    return epoch % every_n_epochs == 0 or last or bool(trainer.fast_dev_run)


@contextmanager
def eval_mode(module: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Evaluation mode without gradients for the body, then the module's previous mode again."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            yield module
    finally:
        module.train(was_training)
