"""Numeric tables (rows of features: expression matrices, sensor readings, embeddings) as autoencoder data.

A table of F columns is served as float32 rows shaped (1, 1, F), so every dense net, the PCA yardstick and the
PCA-anchored start take it as they take a flat image. Its values may have any range: ``TableScaling`` (standardise by
default, min-max, or none) is fitted on the training rows only and is part of the model: checkpoints record it with
the preprocessing, and the reducer's ``inverse_transform`` answers in the input's units.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aelab.data.base import SplitDataModule
from aelab.data.preprocessing import Preprocessing
from aelab.data.splits import check_split_size, three_way_split
from aelab.data.tensor_data import ImageTensorDataset
from aelab.errors import DataNotFoundError
from aelab.files import expand_path

SCALINGS = ("standard", "minmax", "none")
TABLE_SUFFIXES = (".csv", ".parquet", ".npy")


@dataclass(frozen=True)
class TableScaling:
    """``(x - offset) / scale`` per column: what the model sees; ``inverse`` gives the input's units back."""

    kind: str
    offset: tuple[float, ...]
    scale: tuple[float, ...]

    @classmethod
    def fit(cls, values: np.ndarray, kind: str, columns: list[str] | None = None) -> TableScaling:
        """The scaling of ``kind`` fitted on ``values`` (the training rows); a constant column is refused (it
        carries nothing to reduce, and standardising it divides by zero)."""
        if kind not in SCALINGS:
            raise ValueError(
                f"scaling={kind!r} is not one of {', '.join(SCALINGS)} (standard: zero mean, unit variance)"
            )
        if kind == "none":
            return cls(kind, (0.0,) * values.shape[1], (1.0,) * values.shape[1])
        offset = values.mean(0) if kind == "standard" else values.min(0)
        scale = values.std(0) if kind == "standard" else values.max(0) - values.min(0)
        constant = np.flatnonzero(scale <= 1e-12 * np.maximum(np.abs(offset), 1.0))
        if len(constant):
            names = [columns[i] if columns else str(i) for i in constant[:5]]
            raise ValueError(
                f"column {', '.join(names)}{' ...' if len(constant) > 5 else ''} ({len(constant)} in all) is constant "
                f"in the training rows: it carries nothing to reduce and cannot be scaled. Drop it (e.g. "
                "sklearn.feature_selection.VarianceThreshold), or use scaling='none'."
            )
        return cls(kind, tuple(float(v) for v in offset), tuple(float(v) for v in scale))

    def apply(self, values: torch.Tensor) -> torch.Tensor:
        offset, scale = (torch.tensor(v, dtype=values.dtype, device=values.device) for v in (self.offset, self.scale))
        return (values - offset) / scale

    def inverse(self, values: torch.Tensor) -> torch.Tensor:
        offset, scale = (torch.tensor(v, dtype=values.dtype, device=values.device) for v in (self.offset, self.scale))
        return values * scale + offset

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "offset": list(self.offset), "scale": list(self.scale)}

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> TableScaling:
        return cls(record["kind"], tuple(record["offset"]), tuple(record["scale"]))


def table_values(X: Any, what: str = "X") -> tuple[np.ndarray, list[str] | None]:
    """A (n_samples, n_features) float64 array and the column names (pandas) from numpy, pandas or torch; refuses
    text or categorical columns and NaN / inf with the column (and row) named."""
    columns = [str(c) for c in X.columns] if hasattr(X, "columns") else None
    if hasattr(X, "dtypes"):
        from pandas.api.types import is_numeric_dtype

        bad = [str(c) for c, t in zip(X.columns, X.dtypes, strict=True) if not is_numeric_dtype(t)]
        if bad:
            raise ValueError(
                f"{what} has columns that are not numbers: {', '.join(bad[:5])}{' ...' if len(bad) > 5 else ''}. "
                "Drop them, or encode categories as numbers first (e.g. pandas.get_dummies or "
                "sklearn.preprocessing.OneHotEncoder); a label column goes to y (or data.label_column)."
            )
    if hasattr(X, "tocsr") or hasattr(X, "toarray"):  # scipy sparse
        raise TypeError("Sparse data was passed for X, but dense data is required: use X.toarray() (an autoencoder "
                        "takes dense rows)")  # fmt: skip
    array = X.detach().cpu().numpy() if isinstance(X, torch.Tensor) else np.asarray(X)
    if np.iscomplexobj(array):
        raise ValueError(f"Complex data not supported: {what} holds {array.dtype} values; pass real numbers "
                         "(e.g. the magnitude, np.abs, or the real part)")  # fmt: skip
    if array.ndim != 2:
        raise ValueError(f"{what} is shaped {list(array.shape)}; a table is 2-D (n_samples, n_features). Reshape your "
                         "data either using array.reshape(-1, 1) if your data has a single feature or "
                         "array.reshape(1, -1) if it contains a single sample.")  # fmt: skip
    if 0 in array.shape:  # worded as scikit-learn's check_array words it
        empty = "sample(s)" if array.shape[0] == 0 else "feature(s)"
        raise ValueError(f"Found array with 0 {empty} (shape={array.shape}) while a minimum of 1 is required: {what} "
                         "is an empty table")  # fmt: skip
    array = array.astype(np.float64)  # text raises here, naming the value it could not read as a number
    bad_rows, bad_cols = np.nonzero(~np.isfinite(array))
    if len(bad_cols):
        col = columns[bad_cols[0]] if columns else str(bad_cols[0])
        raise ValueError(
            f"{what} has {len(bad_cols)} NaN or infinite values, the first in column {col} (row {bad_rows[0]}): "
            f"{array[bad_rows[0], bad_cols[0]]}. Fill them (e.g. sklearn.impute.SimpleImputer) or drop those rows."
        )
    return array, columns


def read_table(path: Path, label_column: str | None = None) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """Values, labels (or None) and column names of a .csv, .parquet or .npy table."""
    import pandas as pd

    if path.suffix not in TABLE_SUFFIXES:
        raise ValueError(f"data.path={path} is not a table aelab reads; use one of {', '.join(TABLE_SUFFIXES)}")
    if path.suffix == ".npy":
        if label_column is not None:
            raise ValueError("data.label_column names a column; a .npy table has none: pass a .csv or .parquet")
        values, _ = table_values(np.load(path, allow_pickle=False), str(path))
        return values, None, [str(i) for i in range(values.shape[1])]
    frame = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
    labels = None
    if label_column is not None:
        if label_column not in frame.columns:
            raise ValueError(f"data.label_column={label_column} is not a column of {path}: {list(frame.columns)[:10]}")
        labels = np.unique(frame.pop(label_column).astype(str).to_numpy(), return_inverse=True)[1]
    values, columns = table_values(frame, str(path))
    return values, labels, columns or []


def table_preprocessing(n_features: int, scaling: TableScaling | None, columns: list[str] | None) -> Preprocessing:
    """The record a checkpoint keeps for a table model: its width and scaling (and the column names)."""
    table = {"scaling": scaling.as_dict() if scaling else None, "columns": columns}
    return Preprocessing((1, 1, n_features), "table", table=table)


class TableDataModule(SplitDataModule):
    """Rows of a numeric table at ``path`` (.csv, .parquet, .npy) as float32 (1, 1, F); ``label_column`` (or a .npy of
    int labels at ``labels_path``) feeds the probes; ``scaling`` is fitted on the training rows. Seeded ``test_size`` and ``val_size`` are held out."""

    def __init__(
        self,
        path: str,
        label_column: str | None = None,
        labels_path: str | None = None,
        column_names: list[str] | None = None,
        scaling: str = "standard",
        name: str = "table",
        batch_size: int = 128,
        eval_batch_size: int = 1024,
        val_size: float = 0.1,
        test_size: float = 0.1,
        seed: int = 0,
        num_workers: int = 0,
        pin_memory: bool = False,
        shape: list[int] | tuple[int, ...] | None = None,
        exclude_classes: list[int | str] | tuple[int | str, ...] = (),
        augment: dict[str, Any] | None = None,
        group_batches: int = 1,
        neighbours: int = 0,
    ) -> None:
        super().__init__(augment, group_batches, neighbours)
        check_split_size(val_size, "data.val_size")
        check_split_size(test_size, "data.test_size")
        if scaling not in SCALINGS:
            raise ValueError(f"data.scaling={scaling!r} is not one of {', '.join(SCALINGS)}")
        self.save_hyperparameters(logger=False)
        self.name = name
        self.path = expand_path(path)
        if not self.path.is_file():
            raise DataNotFoundError(
                f"data.path={self.path} does not exist; it should be a {'/'.join(TABLE_SUFFIXES)} table"
            )
        self.values, self.labels, self.columns = read_table(self.path, label_column)
        if column_names is not None:  # names for a .npy table's columns (the reducer passes a DataFrame's)
            if len(column_names) != self.values.shape[1]:
                raise ValueError(
                    f"data.column_names names {len(column_names)} columns; the table has {self.values.shape[1]}"
                )
            self.columns = [str(c) for c in column_names]
        if labels_path is not None:  # labels beside a .npy table (what the reducer's fit(X, y) writes)
            self.labels = np.load(expand_path(labels_path)).astype(np.int64)
        if shape is not None and tuple(shape) != self.shape:
            raise ValueError(f"data.shape is {list(shape)} but {self.path} has {self.values.shape[1]} columns")
        self.scaling: TableScaling | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        return (1, 1, int(self.values.shape[1]))

    def preprocessing(self) -> Preprocessing:
        return table_preprocessing(self.shape[2], self.scaling, self.columns)

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        hp = self.hparams
        n = len(self.values)
        train, val, test = three_way_split(n, hp.val_size, hp.test_size, hp.seed)
        self.scaling = TableScaling.fit(self.values[train], hp.scaling, self.columns)
        rows = self.scaling.apply(torch.from_numpy(self.values)).float().reshape(n, *self.shape)
        labelled = self.labels is not None
        labels = torch.from_numpy(self.labels).long() if labelled else torch.full((n,), -1, dtype=torch.long)
        self.class_names = [str(c) for c in sorted(set(labels.tolist()))] if labelled else ["all"]
        for split, chosen in (("train", train), ("val", val), ("test", test)):
            self.splits[split] = ImageTensorDataset(rows, labels, torch.from_numpy(chosen))
        self.exclude_from_training()

    def split_items(self, split: str) -> list[str]:
        return [str(r) for r in self.splits[split].rows.tolist()]
