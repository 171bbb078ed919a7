"""Tables of codes on disk: one row per image (its path, its label when there is one) and k code columns z0..z{k-1},
as .parquet, .csv or .npz. What ``python -m aelab.encode`` writes and ``python -m aelab.decode`` reads.

An existing table is replaced only when asked (``overwrite``). In .csv, text cells that a spreadsheet would run as a
formula (starting with = + - @, a tab or a carriage return) get a leading ``'``, as OWASP advises against CSV
injection; cells that start with ``'`` get one too, so ``read_codes`` removes exactly one and gives back every name.
Text cells are quoted, so a name holding a carriage return (which pandas leaves bare otherwise) stays one cell.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from aelab.errors import NotWritableError, OutputExistsError
from aelab.files import atomic_path, writable_dir

FORMATS = (".parquet", ".csv", ".npz")
TEXT_COLUMNS = ("path", "label")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")  # "'" too, so that unescaping is exact


def refuse_existing(paths: Iterable[Path], overwrite: bool) -> None:
    """Refuse, before any work, to replace files a run would write, unless ``overwrite``; a folder (or anything
    else that is not a file) where a file goes is refused either way, as nothing could replace it."""
    paths = list(paths)
    blocked = [p for p in paths if (p.exists() or p.is_symlink()) and not p.is_file()]
    if blocked:
        raise NotWritableError(f"{blocked[0]} is a folder (or another non-file) where this run writes a file; "
                               "move it away or choose another output")  # fmt: skip
    existing = [p for p in paths if p.is_file()]
    if existing and not overwrite:
        more = f" and {len(existing) - 5} more files" if len(existing) > 5 else ""
        verb, it = ("exists", "it") if len(existing) == 1 else ("exist", "them")
        raise OutputExistsError(f"{', '.join(map(str, existing[:5]))}{more} already {verb}; pass overwrite=true to "
                                f"replace {it}, or choose another output")  # fmt: skip


def check_output(path: Path, overwrite: bool = False) -> None:
    """Refuse an output path that cannot be written, or that would replace a file unasked, before any work."""
    if path.suffix not in FORMATS:
        raise ValueError(f"output={path}: write codes as one of {', '.join(FORMATS)} (by the file's extension)")
    if not writable_dir(path.parent):
        raise NotWritableError(f"output={path}: cannot write in {path.parent}; choose another path")
    refuse_existing([path], overwrite)


def escape_cell(text: str) -> str:
    """A text cell safe to open in a spreadsheet: a leading ``'`` when it could start a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def unescape_cell(text: str) -> str:
    """The inverse of ``escape_cell``: every escaped cell, and only those, start with ``'``."""
    return text[1:] if text.startswith("'") else text


def write_codes(
    path: Path, codes: np.ndarray, names: list[str], labels: list[str] | None, overwrite: bool = False
) -> Path:
    """Atomically: a failure leaves no half-written table (and an existing one as it was)."""
    check_output(path, overwrite)
    columns = [f"z{i}" for i in range(codes.shape[1])]
    with atomic_path(path) as tmp:
        if path.suffix == ".npz":
            extra = {"label": np.asarray(labels)} if labels is not None else {}
            with open(tmp, "wb") as f:
                np.savez(f, codes=codes, path=np.asarray(names), **extra)
        else:
            import pandas as pd

            as_csv = path.suffix == ".csv"
            table = pd.DataFrame(codes, columns=columns)
            table.insert(0, "path", [escape_cell(n) for n in names] if as_csv else names)
            if labels is not None:
                table.insert(1, "label", [escape_cell(n) for n in labels] if as_csv else labels)
            if as_csv:
                table.to_csv(tmp, index=False, quoting=csv.QUOTE_NONNUMERIC)
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

    if path.suffix == ".csv":  # names as written: "NA", "null" or "007" stay text; only code cells may be missing
        header = pd.read_csv(path, nrows=0).columns
        text = {c: str for c in TEXT_COLUMNS if c in header}
        missing = {c: ["", "nan", "NaN"] for c in header if c not in text}
        table = pd.read_csv(path, dtype=text, keep_default_na=False, na_values=missing)
        if "path" in table:
            table["path"] = table["path"].map(unescape_cell)
    else:
        table = pd.read_parquet(path)
    columns = sorted((c for c in table.columns if c.startswith("z") and c[1:].isdigit()), key=lambda c: int(c[1:]))
    if not columns:
        raise ValueError(f"{path} has no code columns z0, z1, ...; pass a table written by python -m aelab.encode")
    names = table["path"].astype(str).tolist() if "path" in table else [str(i) for i in range(len(table))]
    return table[columns].to_numpy(np.float32), names
