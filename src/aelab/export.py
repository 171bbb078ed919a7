"""The encoder and decoder without aelab: python -m aelab.export ckpt_path=<ckpt> format=onnx|torchscript output=<folder>

Writes encoder.<onnx|pt> (float images (N, C, H, W) in [0, 1] -> codes (N, k)) and decoder.<onnx|pt> (codes ->
images), both with a dynamic batch axis, and preprocessing.json: how to turn an image file into the encoder's input
(decode as RGB, resize mode and interpolation, size, uint8 / 255, NCHW), so they run in onnxruntime or plain torch.
Files already in ``output`` are replaced only with overwrite=true, checked before the model loads.
"""

from __future__ import annotations

import json
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig
from torch import nn

from aelab.codes_io import refuse_existing
from aelab.errors import NotWritableError, user_errors
from aelab.files import expand_path, writable_dir, write_text_atomic
from aelab.reducer import AutoEncoderReducer, load
from aelab.run_dirs import register_resolvers

FORMATS = {"onnx": ".onnx", "torchscript": ".pt"}


class ModelMethod(nn.Module):
    """One of the model's methods (``encode``: flat codes, as AutoEncoderReducer.transform gives; ``decode``:
    images from them) as a module's forward, so it exports alone."""

    def __init__(self, model: nn.Module, method: str) -> None:
        super().__init__()
        self.model = model
        self.method = method

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self.model, self.method)(x)


def check_export(output: Path, fmt: str, overwrite: bool = False) -> dict[str, Path]:
    """The paths ``export`` writes, refused before any work when the format is unknown, the folder cannot be
    written, or a file there would be replaced without ``overwrite``."""
    if fmt not in FORMATS:
        raise ValueError(f"format={fmt}: choose one of {sorted(FORMATS)}")
    if not writable_dir(output):
        raise NotWritableError(f"output={output}: cannot create or write that folder; choose another")
    paths = {part: output / f"{part}{FORMATS[fmt]}" for part in ("encoder", "decoder")}
    paths["preprocessing"] = output / "preprocessing.json"
    refuse_existing(paths.values(), overwrite)
    return paths


def export(reducer: AutoEncoderReducer, output: Path, fmt: str, overwrite: bool = False) -> dict[str, Path]:
    """Write the encoder, the decoder and preprocessing.json into ``output``; returns their paths."""
    paths = check_export(output, fmt, overwrite)
    model = reducer.model_.to("cpu").eval()
    images = torch.rand(2, *reducer.preprocessing_.shape)
    codes = torch.randn(2, reducer.latent_dim_)
    parts = (
        ("encoder", ModelMethod(model, "encode"), images, "images", "codes"),
        ("decoder", ModelMethod(model, "decode"), codes, "codes", "images"),
    )
    for key, module, example, name_in, name_out in parts:
        if fmt == "torchscript":
            model._jit_is_scripting = True  # Lightning's flag: its trainer property stays quiet while traced
            try:
                torch.jit.trace(module, example).save(str(paths[key]))
            finally:
                model._jit_is_scripting = False
        else:
            torch.onnx.export(
                module, (example,), str(paths[key]), input_names=[name_in], output_names=[name_out],
                dynamic_axes={name_in: {0: "batch"}, name_out: {0: "batch"}}, dynamo=False,
            )  # fmt: skip
    record = {
        **reducer.preprocessing_.as_dict(),
        "latent_dim": reducer.latent_dim_,
        "encoder": paths["encoder"].name,
        "decoder": paths["decoder"].name,
        "encoder_input": f"float32 (N, {', '.join(map(str, reducer.preprocessing_.shape))}) in [0, 1]: uint8 RGB / 255",
        "checkpoint": str(reducer.ckpt_path_),
    }
    write_text_atomic(paths["preprocessing"], json.dumps(record, indent=2) + "\n")
    return paths


register_resolvers()  # conf/hydra/default.yaml names output folders with ${run_suffix:}


@hydra.main(version_base="1.3", config_path="conf", config_name="export")
def main(cfg: DictConfig) -> None:
    with user_errors():
        output = expand_path(cfg.output)
        check_export(output, cfg.format, cfg.overwrite)  # before the model loads
        paths = export(load(cfg.ckpt_path, device="cpu"), output, cfg.format, overwrite=cfg.overwrite)
        print("wrote " + ", ".join(str(p) for p in paths.values()))


if __name__ == "__main__":
    main()
