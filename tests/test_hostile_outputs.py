"""Hostile names and existing files: decode writes only inside its output and never lets two rows (or a row and
grid.png) share a file; encode, decode and export replace nothing unasked and refuse before loading the model; a
.csv of codes holds no cell a spreadsheet would run as a formula and still gives back every name."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

import aelab
from aelab import decode, encode, export
from aelab.codes_io import read_codes, write_codes
from aelab.data.mnist import load_embedded_sample
from aelab.errors import NotWritableError, OutputExistsError
from tests.conftest import compose_config

FORMULA = ("=", "+", "-", "@", "\t", "\r")
HYPERLINK = '=HYPERLINK("x","y").png'


@pytest.fixture(scope="module")
def ckpt(trained_run) -> Path:
    return trained_run / "checkpoints" / "last.ckpt"


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return load_embedded_sample()[0][:8].copy()


def run(tool, name: str, tmp_path: Path, **keys) -> None:
    """The CLI's own main on the config its yaml composes, as ``python -m aelab.<name> key=value ...`` runs it."""
    cfg = compose_config(tmp_path, [f"{k}={v}" for k, v in keys.items()], name=name)
    tool.main(cfg)


def refused(tool, name: str, tmp_path: Path, capsys, **keys) -> str:
    """The message a CLI exits 1 with."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        run(tool, name, tmp_path, **keys)
    assert exit_info.value.code == 1
    return capsys.readouterr().err


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if not p.is_dir()}


def test_decode_writes_every_hostile_row_as_its_own_file_inside_output(ckpt, digits, tmp_path, capsys):
    absolute = str(tmp_path / "abs" / "X.jpg")
    rows = {  # row name -> the file decode must write (relative to output)
        "../../x/TRAV.jpg": "x/TRAV.png",
        absolute: f"{absolute.lstrip('/')[:-4]}.png",
        "a.jpg": "a.png",
        "a.png": "a-1.png",
        "grid.jpg": "grid-1.png",
        "C:\\evil\\w.jpg": "evil/w.png",
    }
    reducer = aelab.load(ckpt, device="cpu")
    codes = np.random.default_rng(0).normal(0, 3, (len(rows), reducer.latent_dim_)).astype(np.float32)  # distinct
    table = write_codes(tmp_path / "in" / "codes.parquet", codes, list(rows), None)
    output = tmp_path / "out" / "decoded"
    before = files_under(tmp_path)
    run(decode, "decode", tmp_path, ckpt_path=ckpt, input=table, output=output, device="cpu")
    message = capsys.readouterr().out

    new = files_under(tmp_path) - before
    assert new and all(p.is_relative_to(output) for p in new), sorted(map(str, new))
    pngs = {str(p.relative_to(output)) for p in new if p.suffix == ".png"}
    assert pngs == {*rows.values(), "grid.png"}
    expected = (reducer.inverse_transform(codes)[:, 0] * 255).round()  # float in [0, 1]: no images given yet
    assert min(np.abs(a - b).max() for i, a in enumerate(expected) for b in expected[i + 1 :]) > 2  # rows differ
    for i, png in enumerate(rows.values()):  # each row's own image, none replaced by another row's
        assert np.abs(cv2.imread(str(output / png), cv2.IMREAD_GRAYSCALE) - expected[i]).max() <= 1, png
    assert cv2.imread(str(output / "grid.png")).shape[1] > digits.shape[-1] * len(rows)  # the grid, not a row
    assert f"wrote {len(rows)} images and grid.png" in message
    for name, png in rows.items():
        if name not in ("a.jpg",):
            assert f"{name!r} -> {png}" in message
    with open(output / "names.csv", newline="") as f:
        assert {(r["path"], r["png"]) for r in csv.DictReader(f)} == {(n, p) for n, p in rows.items() if n != "a.jpg"}


def test_decode_refuses_a_linked_folder_leading_outside_output(ckpt, digits, tmp_path, capsys):
    elsewhere, output = tmp_path / "elsewhere", tmp_path / "decoded"
    elsewhere.mkdir()
    output.mkdir()
    (output / "linked").symlink_to(elsewhere, target_is_directory=True)
    codes = aelab.load(ckpt, device="cpu").transform(digits[:2])
    table = write_codes(tmp_path / "codes.parquet", codes, ["ok.jpg", "linked/y.jpg"], None)
    message = refused(decode, "decode", tmp_path, capsys, ckpt_path=ckpt, input=table, output=output, device="cpu")
    assert "outside" in message and "linked" in message and "remove the link" in message
    assert not list(elsewhere.iterdir()) and not list(output.glob("*.png"))  # refused before writing any file


def test_decode_replaces_existing_pngs_and_grid_only_with_overwrite(ckpt, digits, tmp_path, capsys):
    reducer = aelab.load(ckpt, device="cpu")
    output = tmp_path / "decoded"
    output.mkdir()
    (output / "grid.png").write_bytes(b"mine")
    table = write_codes(tmp_path / "codes.parquet", reducer.transform(digits[:2]), ["p.jpg", "q.jpg"], None)
    keys = {"input": table, "output": output, "device": "cpu"}
    message = refused(decode, "decode", tmp_path, capsys, ckpt_path=tmp_path / "missing.ckpt", **keys)
    assert str(output / "grid.png") in message and "overwrite=true" in message  # checked before the model loads
    assert (output / "grid.png").read_bytes() == b"mine" and not (output / "p.png").exists()

    run(decode, "decode", tmp_path, ckpt_path=ckpt, overwrite="true", **keys)
    first = (output / "p.png").read_bytes()
    assert (output / "grid.png").read_bytes() != b"mine"
    table = write_codes(tmp_path / "other.parquet", reducer.transform(digits[4:5]), ["p.jpg"], None)
    keys["input"] = table
    message = refused(decode, "decode", tmp_path, capsys, ckpt_path=ckpt, **keys)
    assert str(output / "p.png") in message and (output / "p.png").read_bytes() == first
    run(decode, "decode", tmp_path, ckpt_path=ckpt, overwrite="true", **keys)
    assert (output / "p.png").read_bytes() != first


@pytest.fixture
def image_folder(digits, tmp_path) -> Path:
    """Real PNG digits whose names a spreadsheet would run as formulas, and one plain name."""
    folder = tmp_path / "images"
    folder.mkdir()
    names = [HYPERLINK, "+1.png", "-2.png", "@a.png", "'quoted.png", "plain.png"]
    for name, image in zip(names, digits):
        assert cv2.imwrite(str(folder / name), image[0])
    return folder


def test_encode_csv_escapes_formula_names_and_decode_gets_them_back(ckpt, image_folder, tmp_path):
    table = tmp_path / "codes.csv"
    run(encode, "encode", tmp_path, ckpt_path=ckpt, input=image_folder, output=table, device="cpu")
    with open(table, newline="") as f:
        cells = [row["path"] for row in csv.DictReader(f)]
    assert f"'{HYPERLINK}" in cells and "''quoted.png" in cells and "plain.png" in cells
    assert not [c for c in cells if c.startswith(FORMULA)]
    originals = sorted(p.name for p in image_folder.iterdir())
    assert sorted(read_codes(table)[1]) == originals

    output = tmp_path / "decoded"
    run(decode, "decode", tmp_path, ckpt_path=ckpt, input=table, output=output, device="cpu")
    assert sorted(p.name for p in output.glob("*.png") if p.name != "grid.png") == originals
    assert not (output / "names.csv").exists()  # nothing was renamed


def test_code_tables_escape_text_only_in_csv_and_read_back_exactly(tmp_path):
    names = [HYPERLINK, "\tx", "\ry", "'q", "''", "NA", "null", "007", "-", "a'b"]
    labels = ["=SUM(1)", "plain", "+", "@", "", "NA", "x", "y", "z", "w"]
    codes = np.arange(len(names) * 2, dtype=np.float32).reshape(-1, 2) - 5  # negative codes stay numbers
    write_codes(tmp_path / "c.csv", codes, names, labels)
    with open(tmp_path / "c.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert not [c for r in rows for c in (r["path"], r["label"]) if c.startswith(FORMULA)]
    assert rows[0]["label"] == "'=SUM(1)" and rows[0]["z0"] == "-5.0"
    for suffix in (".csv", ".parquet", ".npz"):
        path = write_codes(tmp_path / f"t{suffix}", codes, names, labels)
        read, back = read_codes(path)
        assert back == names and np.array_equal(read, codes), suffix
    import pandas as pd

    assert pd.read_parquet(tmp_path / "t.parquet")["path"].tolist() == names  # parquet stores names as they are


def test_encode_replaces_an_existing_table_only_with_overwrite(ckpt, image_folder, tmp_path, capsys):
    table = tmp_path / "codes.parquet"
    table.write_bytes(b"precious")
    keys = {"input": image_folder, "output": table, "device": "cpu"}
    message = refused(encode, "encode", tmp_path, capsys, ckpt_path=tmp_path / "missing.ckpt", **keys)
    assert str(table) in message and "already exists" in message and "overwrite=true" in message
    assert table.read_bytes() == b"precious"
    with pytest.raises(OutputExistsError):
        write_codes(table, np.zeros((1, 2), np.float32), ["a"], None)
    run(encode, "encode", tmp_path, ckpt_path=ckpt, overwrite="true", **keys)
    assert len(read_codes(table)[1]) == len(list(image_folder.iterdir()))


def test_a_folder_where_the_table_goes_is_refused_even_with_overwrite(tmp_path):
    (tmp_path / "codes.csv").mkdir()
    with pytest.raises(NotWritableError, match="is a folder"):
        write_codes(tmp_path / "codes.csv", np.zeros((1, 2), np.float32), ["a"], None, overwrite=True)


def test_export_replaces_its_files_only_with_overwrite(ckpt, tmp_path, capsys):
    output = tmp_path / "exported"
    reducer = aelab.load(ckpt, device="cpu")
    paths = export.export(reducer, output, "torchscript")
    keys = {"output": output, "format": "torchscript"}
    message = refused(export, "export", tmp_path, capsys, ckpt_path=tmp_path / "missing.ckpt", **keys)
    assert str(paths["encoder"]) in message and "overwrite=true" in message  # before the model loads
    paths["preprocessing"].write_text("stale")
    with pytest.raises(OutputExistsError, match="preprocessing.json"):
        export.export(reducer, output, "torchscript")
    assert paths["preprocessing"].read_text() == "stale"
    run(export, "export", tmp_path, ckpt_path=ckpt, overwrite="true", **keys)
    assert '"latent_dim"' in paths["preprocessing"].read_text()


def test_row_names_become_distinct_relative_paths_even_on_case_blind_disks():
    from aelab.decode import plan_files

    names = ["a.jpg", "A.JPG", "b.png", "b.png/c.jpg", "", "..", "./x\x1b[2J.jpg", "names.csv/n.jpg", "0"]
    paths, renamed = plan_files(names)
    assert [str(p) for p in paths] == [
        "a.png", "A-1.png", "b-1.png", "b.png/c.png", "row4.png", "row5.png", "x_[2J.png", "names.csv-dir/n.png",
        "0.png",
    ]  # fmt: skip
    assert renamed == [1, 2, 4, 5, 6, 7]
    assert len({str(p).casefold() for p in paths}) == len(names)
