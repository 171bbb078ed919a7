"""The trained AE on image files: API codes == data module codes on a JPEG tree, the encode / decode CLI (broken
files skipped and listed), and ONNX export matching PyTorch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import aelab
from aelab.build import build
from aelab.checkpoints import load_checkpoint, load_model, stored_data_config
from aelab.data.synthetic import make_intel_tree
from aelab.data.tensor_data import to_unit_float
from aelab.pipeline import train
from tests.conftest import FAST, ROOT, compose_config

SIZE = 16


@pytest.fixture(scope="module")
def intel_run(tmp_path_factory) -> tuple[Path, Path]:
    """A dense AE trained for a few batches on an Intel-layout tree of real JPEGs (with broken files); returns the
    tree and the checkpoint."""
    tmp = tmp_path_factory.mktemp("intel_run")
    tree = make_intel_tree(tmp / "intel")
    overrides = [*FAST, "model=dense", "data=intel", f"data.root={tree}", f"data.image_size={SIZE}",
                 "data.batch_size=8", "callbacks.reconstructions=null", "callbacks.latent_averages=null"]  # fmt: skip
    cfg = compose_config(tmp, overrides)
    train(cfg)
    return tree, Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"


def run_module(module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", module, *args, f"paths.root_dir={cwd}"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_codes_of_jpeg_files_via_the_api_equal_the_data_modules_codes(intel_run):
    _, ckpt = intel_run
    datamodule = build(stored_data_config(load_checkpoint(ckpt)))
    datamodule.prepare_data()
    datamodule.setup("test")
    model, _ = load_model(ckpt)
    with torch.no_grad():
        expected = model.eval().encode(to_unit_float(datamodule.splits["test"].take()[0])).numpy()
    files = [str(datamodule.root / name) for name in datamodule.split_files["test"]]
    codes = aelab.load(ckpt, device="cpu").transform(files)
    np.testing.assert_allclose(codes, expected, atol=1e-6)


def test_encode_cli_writes_one_row_per_readable_image_and_lists_the_rest(intel_run, tmp_path):
    tree, ckpt = intel_run
    train_dir = tree / "seg_train" / "seg_train"  # holds an empty, a truncated and a text file under forest/
    result = run_module("aelab.encode", f"ckpt_path={ckpt}", f"input={train_dir}", "output=codes.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    table = pd.read_csv(tmp_path / "codes.csv")
    readable = [p for p in train_dir.rglob("*") if p.is_file() and p.suffix in (".jpg", ".png")]
    broken = {"forest/empty.jpg", "forest/truncated.jpg", "forest/notes.txt"}
    assert len(table) == len(readable) - 2  # the empty and truncated .jpg are not readable
    assert set(table["label"]) == {"buildings", "forest", "glacier", "mountain", "sea", "street"}
    assert [c for c in table.columns if c.startswith("z")] == [f"z{i}" for i in range(20)]
    assert "skipped 3 of" in result.stderr and all(name in result.stderr for name in broken)
    assert not broken & set(table["path"])

    decoded = run_module("aelab.decode", f"ckpt_path={ckpt}", "input=codes.csv", "output=decoded", cwd=tmp_path)
    assert decoded.returncode == 0, decoded.stderr[-3000:]
    pngs = [p for p in (tmp_path / "decoded").rglob("*.png") if p.name != "grid.png"]
    assert len(pngs) == len(table) and (tmp_path / "decoded" / "grid.png").is_file()


def test_encode_refuses_an_empty_folder_and_an_unwritable_output(intel_run, tmp_path):
    from aelab.codes_io import check_output
    from aelab.encode import encode_input
    from aelab.errors import DataNotFoundError, NotWritableError

    _, ckpt = intel_run
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataNotFoundError, match="holds no files"):
        encode_input(aelab.load(ckpt, device="cpu"), tmp_path / "empty", 16)
    (tmp_path / "blocked").write_text("a file, not a folder")
    with pytest.raises(NotWritableError, match="cannot write in"):
        check_output(tmp_path / "blocked" / "codes.csv")
    with pytest.raises(ValueError, match="one of .parquet, .csv, .npz"):
        check_output(tmp_path / "codes.xlsx")


def test_onnx_encoder_in_onnxruntime_matches_pytorch_on_real_images(intel_run, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from aelab.export import export

    tree, ckpt = intel_run
    reducer = aelab.load(ckpt, device="cpu")
    paths = export(reducer, tmp_path / "exported", "onnx")
    files = sorted(str(p) for p in (tree / "seg_test" / "seg_test").rglob("*.jpg"))
    images = reducer.images(files).numpy()
    onnx_codes = ort.InferenceSession(str(paths["encoder"])).run(None, {"images": images})[0]
    assert np.abs(onnx_codes - reducer.transform(files)).max() <= 1e-4
    decoded = ort.InferenceSession(str(paths["decoder"])).run(None, {"codes": onnx_codes[:3]})[0]
    assert decoded.shape == (3, 3, SIZE, SIZE)
    record = json.loads(paths["preprocessing"].read_text())
    assert record["shape"] == [3, SIZE, SIZE] and record["resize"] == "stretch" and record["latent_dim"] == 20


def test_torchscript_export_runs_without_aelab_and_matches(intel_run, tmp_path):
    from aelab.export import export

    tree, ckpt = intel_run
    reducer = aelab.load(ckpt, device="cpu")
    paths = export(reducer, tmp_path / "ts", "torchscript")
    files = sorted(str(p) for p in (tree / "seg_test" / "seg_test").rglob("*.jpg"))
    encoder, decoder = torch.jit.load(str(paths["encoder"])), torch.jit.load(str(paths["decoder"]))
    with torch.no_grad():
        codes = encoder(reducer.images(files))
        assert torch.allclose(codes, torch.from_numpy(reducer.transform(files)), atol=1e-5)
        assert decoder(codes[:2]).shape == (2, 3, SIZE, SIZE)
