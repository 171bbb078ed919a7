"""A dataset over in-memory uint8 tensors that serves whole batches by one indexing operation, and the one way to
turn such images into the float images every net and analysis works on.

Per-item ``__getitem__`` plus collation costs more than a dense model's whole training step, so the DataLoader
calls ``__getitems__`` with a batch of indices and gets the batch back in one gather. Samplers stay standard, so
Lightning can still swap in a DistributedSampler under DDP.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence

import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler


def to_unit_float(images: torch.Tensor, device: torch.device | str | None = None) -> torch.Tensor:
    """uint8 images -> float32 in [0, 1], on ``device``: copied there as uint8 first, a quarter of the bytes. Float32
    rows (a table's, already scaled: data/tables.py) are what the model takes as they are."""
    if images.dtype == torch.float32:
        return images if device is None else images.to(device)
    if images.dtype != torch.uint8:
        raise TypeError(
            f"expected uint8 images or float32 table rows (as aelab's data modules hand out), got {images.dtype}"
        )
    if device is not None:
        images = images.to(device)
    return images.float().div_(255.0)


class ImageTensorDataset(Dataset):
    """uint8 images (N, C, H, W) (or float32 table rows (N, 1, 1, F)) and int64 labels (N,), indexed a batch at a time.

    ``rows`` optionally selects a subset of ``images`` without copying it, so a memory-mapped cache can back
    both the training and the validation split.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, rows: torch.Tensor | None = None) -> None:
        if images.dtype not in (torch.uint8, torch.float32) or images.ndim != 4:
            raise ValueError(
                f"images must be a uint8 tensor (N, C, H, W) (or float32 table rows); got {images.dtype} {tuple(images.shape)}"
            )
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self._images = images
        self._labels = labels.long()
        self.rows = None if rows is None else torch.as_tensor(rows, dtype=torch.long)

    def __len__(self) -> int:
        return len(self._images) if self.rows is None else len(self.rows)

    def _rows(self, index: torch.Tensor) -> torch.Tensor:
        return index if self.rows is None else self.rows[index]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        row = int(self._rows(torch.tensor(index)))
        return self._images[row], self._labels[row]

    def __getitems__(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        rows = self._rows(torch.as_tensor(indices, dtype=torch.long))
        # index_select is a single gather kernel, far quicker than advanced indexing (images[rows]) on uint8 images
        return torch.index_select(self._images, 0, rows), torch.index_select(self._labels, 0, rows)

    def take(self, index: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Images and labels at ``index`` (all when None), gathering only those rows of a memory-mapped array."""
        if index is None:
            return self.images, self.labels
        return self.__getitems__(index)

    def without_labels(self, excluded: Collection[int]) -> ImageTensorDataset:
        """The same split minus the images whose label is in ``excluded``, as a row subset (no image is copied)."""
        keep = torch.isin(self.labels, torch.as_tensor(sorted(excluded), dtype=torch.long), invert=True)
        rows = torch.arange(len(self))[keep] if self.rows is None else self.rows[keep]
        return ImageTensorDataset(self._images, self._labels, rows)

    @property
    def images(self) -> torch.Tensor:
        """All images of this split (materialised when the split is a subset of a larger array)."""
        return self._images if self.rows is None else self._images[self.rows]

    @property
    def labels(self) -> torch.Tensor:
        return self._labels if self.rows is None else self._labels[self.rows]


def collate_batch(batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch is already stacked by ``__getitems__``; collation has nothing left to do."""
    return batch


class BatchGroup(tuple):
    """Consecutive training batches ``((x, y), ...)`` handed to the model as one Lightning batch
    (``data.group_batches``): the model takes one optimizer step per member, Lightning's per-batch work runs once."""


def split_into_group(batch: tuple[torch.Tensor, torch.Tensor], batch_size: int) -> BatchGroup:
    """One gathered block of images and labels as a group of ``batch_size`` batches (views, nothing is copied)."""
    images, labels = batch
    return BatchGroup(zip(images.split(batch_size), labels.split(batch_size), strict=True))


def batches_of(batch: tuple[torch.Tensor, torch.Tensor] | BatchGroup) -> Sequence[tuple[torch.Tensor, torch.Tensor]]:
    """The batches in a Lightning batch: the members of a group, or the batch itself."""
    return batch if isinstance(batch, BatchGroup) else (batch,)


class EpochShuffle(RandomSampler):
    """A fresh random order every epoch, drawn from (seed, epoch) alone rather than from the global RNG: a resumed
    run gets the same order as the run that never stopped, and ``skip_next`` lets it start mid-epoch.

    It is a RandomSampler, so under DDP Lightning still replaces it with a shuffling DistributedSampler.
    """

    def __init__(self, data_source: Dataset, seed: int | None = None) -> None:
        super().__init__(data_source)
        self.seed = int(torch.initial_seed() if seed is None else seed) % 2**63
        self.epoch = 0
        self._skip = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def skip_next(self, n: int) -> None:
        """Leave out the first ``n`` indices of the next pass only (the part of an epoch already trained on)."""
        self._skip = n

    def __iter__(self):
        generator = torch.Generator().manual_seed((self.seed + 1_000_003 * self.epoch) % 2**63)
        order = torch.randperm(len(self.data_source), generator=generator)
        start, self._skip = self._skip, 0
        return iter(order[start:].tolist())


def batch_loader(
    dataset: ImageTensorDataset,
    batch_size: int,
    shuffle: bool,
    num_workers: int = 0,
    pin_memory: bool = False,
    drop_last: bool = False,
    group: int = 1,
) -> DataLoader:
    """A standard DataLoader whose fetch is one tensor gather per batch, shuffled by ``EpochShuffle``. With
    ``group`` > 1 each fetch gathers ``group`` batches at once and hands them over as a ``BatchGroup``."""
    return DataLoader(
        dataset,
        batch_size=batch_size * group,
        sampler=EpochShuffle(dataset) if shuffle else None,
        generator=torch.Generator(),  # worker seeds from here: iterating never draws from the global RNG
        num_workers=num_workers,
        pin_memory=pin_memory,
        drop_last=drop_last,
        collate_fn=collate_batch if group == 1 else functools.partial(split_into_group, batch_size=batch_size),
        persistent_workers=num_workers > 0,
    )
