"""Codes of your images: python -m aelab.encode ckpt_path=<ckpt> input=<folder | .npy | IDX file> output=codes.parquet

One row per image: its path relative to the input folder (and its class folder as label when there is one) and the
k code columns. Files are decoded and resized exactly as training did (the preprocessing the checkpoint records);
files that are empty, corrupt or not images are skipped and listed in one warning, as the data modules do. An
existing output file is replaced only with overwrite=true (checked before the model loads). In a .csv, names that a
spreadsheet would run as formulas (=, +, -, @ ...) start with ' (see aelab.codes_io); decode reads them back intact.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import hydra
import numpy as np
from omegaconf import DictConfig
from rich.progress import Progress

from aelab.codes_io import check_output, write_codes
from aelab.data.decode import MAX_IMAGE_PIXELS
from aelab.data.folders import files_in
from aelab.data.idx import read_idx
from aelab.data.preprocessing import images_from_files
from aelab.errors import DataNotFoundError, user_errors
from aelab.files import expand_path
from aelab.reducer import AutoEncoderReducer, load
from aelab.run_dirs import register_resolvers

log = logging.getLogger(__name__)


def encode_folder(
    reducer: AutoEncoderReducer, folder: Path, batch_size: int, max_pixels: int = MAX_IMAGE_PIXELS
) -> tuple[np.ndarray, list[str], list[str] | None]:
    files = files_in(folder)
    if not files:
        raise DataNotFoundError(f"input={folder} holds no files; pass a folder of images, a .npy or an IDX file")
    names = [str(f.relative_to(folder)) for f in files]
    codes, kept, skipped = [], [], []
    with Progress(transient=True) as progress:
        task = progress.add_task("encoding", total=len(files))
        for start in range(0, len(files), batch_size):
            chunk = files[start : start + batch_size]
            images, ok, bad = images_from_files(chunk, reducer.preprocessing_, max_pixels, "max_image_pixels")
            skipped += bad
            kept += [start + i for i in ok]
            if len(images):
                codes.append(reducer.transform(images.numpy()))
            progress.advance(task, len(chunk))
    if skipped:
        warnings.warn(f"skipped {len(skipped)} of {len(files)} files that are empty, corrupt or not images: {skipped}",
                      stacklevel=2)  # fmt: skip
    if not kept:
        raise DataNotFoundError(f"none of the {len(files)} files under {folder} could be read as an image")
    names = [names[i] for i in kept]
    nested = all("/" in n for n in names)
    labels = [n.split("/", 1)[0] for n in names] if nested else None
    return np.concatenate(codes), names, labels


def encode_input(
    reducer: AutoEncoderReducer, source: Path, batch_size: int, max_pixels: int = MAX_IMAGE_PIXELS
) -> tuple[np.ndarray, list[str], list[str] | None]:
    """Codes, row names and labels (None when there are none) of an image folder, a .npy array or an IDX file."""
    if source.is_dir():
        return encode_folder(reducer, source, batch_size, max_pixels)
    if not source.is_file():
        raise DataNotFoundError(f"input={source} does not exist; pass a folder of images, a .npy or an IDX file")
    array = np.load(source) if source.suffix == ".npy" else read_idx(source)
    codes = np.concatenate([reducer.transform(array[i : i + batch_size]) for i in range(0, len(array), batch_size)])
    return codes, [str(i) for i in range(len(array))], None


register_resolvers()  # conf/hydra/default.yaml names output folders with ${run_suffix:}


@hydra.main(version_base="1.3", config_path="conf", config_name="encode")
def main(cfg: DictConfig) -> None:
    with user_errors():
        output = expand_path(cfg.output)
        check_output(output, cfg.overwrite)  # before any work
        reducer = load(cfg.ckpt_path, device=cfg.device)
        reducer.inference_batch_size = cfg.batch_size
        codes, names, labels = encode_input(reducer, expand_path(cfg.input), cfg.batch_size, cfg.max_image_pixels)
        write_codes(output, codes, names, labels, overwrite=cfg.overwrite)
        print(f"wrote {len(codes)} codes of {codes.shape[1]} values to {output}")


if __name__ == "__main__":
    main()
