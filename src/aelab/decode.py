"""Images from codes: python -m aelab.decode ckpt_path=<ckpt> input=codes.parquet output=<folder>

Writes one PNG per row of a table that python -m aelab.encode wrote (or any table with code columns z0, z1, ...),
named after the row's path, and grid.png with the first ``grid_images`` of them.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import hydra
import torch
from omegaconf import DictConfig
from torchvision.utils import make_grid

from aelab.codes_io import read_codes
from aelab.errors import NotWritableError, user_errors
from aelab.files import atomic_path, expand_path, writable_dir
from aelab.reducer import load
from aelab.run_dirs import register_resolvers


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


register_resolvers()  # conf/hydra/default.yaml names output folders with ${run_suffix:}


@hydra.main(version_base="1.3", config_path="../../conf", config_name="decode")
def main(cfg: DictConfig) -> None:
    with user_errors():
        output = expand_path(cfg.output)
        if not writable_dir(output):
            raise NotWritableError(f"output={output}: cannot create or write that folder; choose another")
        reducer = load(cfg.ckpt_path, device=cfg.device)
        codes, names = read_codes(expand_path(cfg.input))
        images = torch.as_tensor(reducer.inverse_transform(codes))  # no input form yet: float (N, C, H, W)
        for name, image in zip(names, images):
            write_png(output / Path(name).with_suffix(".png"), image)
        if len(images):
            grid = make_grid(images[: cfg.grid_images], nrow=min(10, len(images)), padding=2, pad_value=1.0)
            write_png(output / "grid.png", grid)
        print(f"wrote {len(images)} images and grid.png to {output}")


if __name__ == "__main__":
    main()
