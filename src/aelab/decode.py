"""Images from codes: python -m aelab.decode ckpt_path=<ckpt> input=codes.parquet output=<folder>

Writes one PNG per row of a table that python -m aelab.encode wrote (or any table with code columns z0, z1, ...),
named after the row's path, and grid.png with the first ``grid_images`` of them. Every file lands inside ``output``:
a row's path is made relative (no root, drive, ``..`` or ``.``; backslashes count as separators) and names that would
collide (``a.jpg`` and ``a.png``, or ``grid.jpg`` and grid.png) get ``-1``, ``-2`` ... The rows whose name changed are
printed and listed in names.csv. Files already there are replaced only with overwrite=true; that, and links leading
out of ``output``, are checked before the model loads.
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path, PurePosixPath

import cv2
import hydra
import torch
from omegaconf import DictConfig
from torchvision.utils import make_grid

from aelab.codes_io import escape_cell, read_codes, refuse_existing
from aelab.errors import NotWritableError, user_errors
from aelab.files import atomic_path, expand_path, writable_dir, write_text_atomic
from aelab.reducer import load
from aelab.run_dirs import register_resolvers

GRID = "grid.png"
NAMES = "names.csv"  # the rows whose file name changed: row, path, png
RESERVED = {GRID, NAMES}  # at the top of output
MAX_PART_BYTES = 200  # below the usual 255-byte limit, leaving room for -N.png and atomic_path's temporary name
SHOWN = 10  # renamed rows printed; names.csv has all of them
# Control characters (a NUL, a newline, terminal escapes) everywhere; on Windows also what its paths forbid.
UNSAFE = re.compile(r"[\x00-\x1f\x7f]" + (r'|[<>:"|?*]' if os.name == "nt" else ""))


def write_png(path: Path, image_chw: torch.Tensor) -> None:
    """A float (C, H, W) image in [0, 1] as an 8-bit PNG (RGB, or grey for one channel)."""
    array = (image_chw.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR) if array.shape[2] == 3 else array[..., 0]
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        ok, data = cv2.imencode(".png", array)
        if not ok:
            raise OSError(f"OpenCV could not encode {path}")
        tmp.write_bytes(data.tobytes())


def _short(part: str) -> str:
    return part.encode()[:MAX_PART_BYTES].decode(errors="ignore")


def safe_parts(name: str) -> list[str]:
    """A row's path as folder and file parts that stay below any folder they are joined to: a table may come from
    anywhere, and ``../../x`` or ``/etc/x`` must not reach outside ``output``."""
    text = re.sub(r"^[A-Za-z]:", "", name.replace("\\", "/"))  # C:\x and C:x lose their drive
    parts = [_short(UNSAFE.sub("_", part)) for part in text.split("/")]
    return [part for part in parts if part not in ("", ".", "..")]


def plan_files(names: list[str]) -> tuple[list[PurePosixPath], list[int]]:
    """One relative PNG path per row, all distinct (ignoring case too, as macOS and Windows do), none of them
    grid.png or names.csv, and the rows whose path is not simply their name with .png."""
    wanted = []
    for i, name in enumerate(names):
        parts = safe_parts(name) or [f"row{i}"]
        folders = [f"{p}-dir" if k == 0 and p.casefold() in RESERVED else p for k, p in enumerate(parts[:-1])]
        wanted.append(PurePosixPath(*folders, _short(PurePosixPath(parts[-1]).stem) + ".png"))
    folders = {str(p).casefold() for path in wanted for p in path.parents if str(p) != "."}
    taken = set(RESERVED) | folders  # files yield to folders other rows need
    paths: list[PurePosixPath | None] = [None] * len(wanted)
    for i, path in enumerate(wanted):  # first come, first served: a row keeps its name if it can
        if str(path).casefold() not in taken:
            taken.add(str(path).casefold())
            paths[i] = path
    tried: dict[PurePosixPath, int] = {}  # the last -N tried per name: thousands of a.jpg stay linear
    for i, path in enumerate(wanted):
        while paths[i] is None:
            tried[path] = n = tried.get(path, 0) + 1
            candidate = path.with_name(f"{path.stem}-{n}.png")
            if str(candidate).casefold() not in taken:
                taken.add(str(candidate).casefold())
                paths[i] = candidate
    final = [p for p in paths if p is not None]
    return final, [i for i, (name, path) in enumerate(zip(names, final)) if not _same(name, path)]


def _same(name: str, path: PurePosixPath) -> bool:
    try:
        return PurePosixPath(name).with_suffix(".png") == path
    except ValueError:  # a name with no file part, such as "" or "a/"
        return False


def targets_inside(output: Path, paths: list[PurePosixPath]) -> list[Path]:
    """The files under ``output``, refused when one would land outside it once links are followed (a linked
    sub-folder pointing elsewhere) or needs a folder where a file is."""
    root = output.resolve()
    targets = []
    for path in paths:
        target = output.joinpath(*path.parts)
        if not target.resolve().is_relative_to(root):
            raise NotWritableError(f"{target} leads outside output={output} through a symbolic link; decode writes "
                                   "only inside its output: remove the link or choose another output")  # fmt: skip
        for k in range(1, len(path.parts)):
            folder = output.joinpath(*path.parts[:k])
            if folder.exists() and not folder.is_dir():
                raise NotWritableError(f"{folder} is a file where decode needs a folder (for {path}); move it "
                                       "away or choose another output")  # fmt: skip
        targets.append(target)
    return targets


def names_csv(names: list[str], paths: list[PurePosixPath], rows: list[int]) -> str:
    """The renamed rows as CSV, names escaped as in codes.csv so a spreadsheet does not run them."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)  # a bare \r would split a row
    writer.writerow(["row", "path", "png"])
    writer.writerows([i, escape_cell(names[i]), escape_cell(str(paths[i]))] for i in rows)
    return text.getvalue()


register_resolvers()  # conf/hydra/default.yaml names output folders with ${run_suffix:}


@hydra.main(version_base="1.3", config_path="conf", config_name="decode")
def main(cfg: DictConfig) -> None:
    with user_errors():
        output = expand_path(cfg.output)
        if not writable_dir(output):
            raise NotWritableError(f"output={output}: cannot create or write that folder; choose another")
        codes, names = read_codes(expand_path(cfg.input))
        paths, renamed = plan_files(names)
        targets = targets_inside(output, paths)
        extra = [output / GRID] * bool(names) + [output / NAMES] * bool(renamed)
        refuse_existing([*targets, *extra], cfg.overwrite)  # before the model loads and before any file is written
        reducer = load(cfg.ckpt_path, device=cfg.device)
        images = torch.as_tensor(reducer.inverse_transform(codes))  # no input form yet: float (N, C, H, W)
        for target, image in zip(targets, images):
            write_png(target, image)
        if len(images):
            grid = make_grid(images[: cfg.grid_images], nrow=min(10, len(images)), padding=2, pad_value=1.0)
            write_png(output / GRID, grid)
        if renamed:
            write_text_atomic(output / NAMES, names_csv(names, paths, renamed))
        written = len({str(t).casefold() for t in targets[: len(images)]})
        print(f"wrote {written} images{' and ' + GRID if len(images) else ''} to {output}")
        if renamed:
            print(f"{len(renamed)} of them are not named after their row's path, to stay inside {output} and not "
                  f"replace one another (all listed in {output / NAMES}):")  # fmt: skip
            for i in renamed[:SHOWN]:
                print(f"  {names[i]!r} -> {paths[i]}")
            if len(renamed) > SHOWN:
                print(f"  ... and {len(renamed) - SHOWN} more")


if __name__ == "__main__":
    main()
