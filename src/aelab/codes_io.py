"""Tables of codes on disk: one row per image (its path, its label when there is one) and k code columns z0..z{k-1},
as .parquet, .csv or .npz. What ``python -m aelab.encode`` writes and ``python -m aelab.decode`` reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aelab.errors import NotWritableError
from aelab.files import atomic_path, writable_dir

FORMATS = (".parquet", ".csv", ".npz")


def check_output(path: Path) -> None:
    """Refuse an output path that cannot be written before any work is done."""
    if path.suffix not in FORMATS:
        raise ValueError(f"output={path}: write codes as one of {', '.join(FORMATS)} (by the file's extension)")
    if not writable_dir(path.parent):
        raise NotWritableError(f"output={path}: cannot write in {path.parent}; choose another path")


def write_codes(path: Path, codes: np.ndarray, names: list[str], labels: list[str] | None) -> Path:
    """Atomically: a failure leaves no half-written table."""
    check_output(path)
    columns = [f"z{i}" for i in range(codes.shape[1])]
    with atomic_path(path) as tmp:
        if path.suffix == ".npz":
            extra = {"label": np.asarray(labels)} if labels is not None else {}
            with open(tmp, "wb") as f:
                np.savez(f, codes=codes, path=np.asarray(names), **extra)
        else:
            import pandas as pd

            table = pd.DataFrame(codes, columns=columns)
            table.insert(0, "path", names)
            if labels is not None:
                table.insert(1, "label", labels)
            if path.suffix == ".csv":
                table.to_csv(tmp, index=False)
            else:
                table.to_parquet(tmp, index=False)
    return path


def read_codes(path: Path) -> tuple[np.ndarray, list[str]]:
    """The codes (n, k) float32 and the row names of a table written by ``write_codes``."""
    if not path.is_file():
        raise FileNotFoundError(f"input={path} does not exist; pass a table written by python -m aelab.encode")
    if path.suffix == ".npz":
        with np.load(path) as data:
            return data["codes"].astype(np.float32), [str(p) for p in data["path"]]
    import pandas as pd

    table = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
    columns = sorted((c for c in table.columns if c.startswith("z") and c[1:].isdigit()), key=lambda c: int(c[1:]))
    if not columns:
        raise ValueError(f"{path} has no code columns z0, z1, ...; pass a table written by python -m aelab.encode")
    names = table["path"].astype(str).tolist() if "path" in table else [str(i) for i in range(len(table))]
    return table[columns].to_numpy(np.float32), names
