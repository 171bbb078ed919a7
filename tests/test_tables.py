"""Numeric tables: data=table through train.py, and AutoEncoderReducer on any (n_samples, n_features) array, fitted
in memory, answering in the input's units, with clear refusals of what a table cannot be."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import MinMaxScaler, StandardScaler

import aelab
from aelab.checkpoints import CONFIG_KEY, PREPROCESSING_KEY, load_checkpoint, load_model
from aelab.pipeline import train

QUICK = ["trainer.limit_train_batches=3", "trainer.limit_val_batches=1", "trainer.limit_test_batches=1",
         "trainer.num_sanity_val_steps=0", "trainer.accelerator=cpu"]  # fmt: skip


@pytest.fixture(scope="module")
def cancer() -> tuple[np.ndarray, np.ndarray]:
    return load_breast_cancer(return_X_y=True)  # 569 rows, 30 columns from 0.001 to 4254: real units, any range


def test_train_py_takes_a_csv_table_scales_it_in_the_model_and_records_the_scaling(tmp_path, make_config, cancer):
    x, y = cancer
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(30)]).assign(diagnosis=np.where(y, "benign", "malignant"))
    frame.to_csv(tmp_path / "cells.csv", index=False)
    cfg = make_config("data=table", f"data.path={tmp_path / 'cells.csv'}", "data.label_column=diagnosis",
                      "model=deep_dense", "model.latent_dim=3")  # fmt: skip
    metrics = train(cfg)
    run = Path(cfg.paths.output_dir)
    checkpoint = load_checkpoint(run / "checkpoints" / "last.ckpt")
    record = checkpoint[PREPROCESSING_KEY]
    assert record["shape"] == [1, 1, 30] and record["table"]["columns"][:2] == ["f0", "f1"]
    scaling = record["table"]["scaling"]
    stored = checkpoint[CONFIG_KEY]
    assert stored["data"]["shape"] == [1, 1, 30] and stored["model"]["decoder"]["output_activation"] is None
    assert scaling["kind"] == "standard"
    # fitted on the training rows only: near the whole table's statistics, but not equal to them
    np.testing.assert_allclose(scaling["offset"], x.mean(0), rtol=0.1)
    assert not np.allclose(scaling["offset"], x.mean(0), rtol=1e-9)
    np.testing.assert_allclose(scaling["scale"], x.std(0), rtol=0.2)
    assert 0.3 < metrics["probe/test_acc"] <= 1.0 and not (run / "panels").exists()  # labels used; no image panels
    assert metrics["pca/yardstick_clipped"] == 0.0  # tables are measured against classic PCA, unclipped
    assert json.loads((run / "results.json").read_text())["ae_over_pca_test_mse"] == metrics["ae_over_pca_test_mse"]


def test_a_table_needs_a_dense_net(tmp_path, make_config, cancer):
    np.save(tmp_path / "x.npy", cancer[0])
    with pytest.raises(ValueError, match="model=conv_strided is not a dense net.*model=deep_dense"):
        train(make_config("data=table", f"data.path={tmp_path / 'x.npy'}", "model=conv_strided"))


def test_fit_in_memory_writes_nothing_and_answers_in_the_input_units(tmp_path, monkeypatch, cancer):
    x, y = cancer
    monkeypatch.chdir(tmp_path)
    scratch_before = set(Path(tempfile.gettempdir()).glob("aelab-fit-*"))
    reducer = aelab.AutoEncoderReducer(latent_dim=2, max_epochs=2, overrides=QUICK).fit(x, y)
    assert list(tmp_path.iterdir()) == [] and set(Path(tempfile.gettempdir()).glob("aelab-fit-*")) == scratch_before
    assert reducer.ckpt_path_ is None and reducer.model_.name == "deep_dense"  # model="auto" for a table
    back = reducer.inverse_transform(reducer.transform(x))
    assert back.shape == x.shape and back.dtype == np.float64
    # in the table's units (column means in the hundreds), not the scaled space the model works in (means near 0)
    assert np.all(np.abs(back.mean(0) - x.mean(0)) < 0.5 * x.std(0))
    compared = reducer.compare(x)
    assert compared["pca"] == "PCA-2"
    np.testing.assert_allclose(compared["ae_mse"], ((back - x) ** 2).mean(), rtol=1e-4)
    assert reducer.score(x) == pytest.approx(-compared["ae_mse"])
    # the same comparison by hand: PCA-2 of the table in the model's scaling (fitted on its training rows), in units
    offset, scale = np.array(reducer.scaling_.offset), np.array(reducer.scaling_.scale)
    z = (x - offset) / scale
    u = np.linalg.svd(z - z.mean(0), full_matrices=False)[2][:2]
    by_hand = ((z - z.mean(0)) @ u.T @ u + z.mean(0)) * scale + offset
    np.testing.assert_allclose(compared["pca_mse"], ((by_hand - x) ** 2).mean(), rtol=1e-4)
    assert not np.allclose(offset, x.mean(0))  # the scaling is the model's own, not the whole table's


@pytest.mark.parametrize("scaler", [MinMaxScaler(), StandardScaler()], ids=["min-max scaled", "standardised"])
def test_already_scaled_tables_fit_too(scaler, cancer):
    x = scaler.fit_transform(cancer[0])  # MinMaxScaler reaches 1.0000000000000002: still a table, not refused
    reducer = aelab.AutoEncoderReducer(latent_dim=2, max_epochs=1, overrides=QUICK).fit(torch.from_numpy(x))
    back = reducer.inverse_transform(reducer.transform(x))
    assert isinstance(back, torch.Tensor) and back.shape == x.shape  # torch in, torch out


def test_a_loaded_table_reducer_keeps_its_scaling_and_clone_refits_it(tmp_path, cancer):
    x = cancer[0][:300]
    fitted = aelab.AutoEncoderReducer(model="dense", latent_dim=3, max_epochs=1, scaling="minmax",
                                      output_dir=str(tmp_path / "a"), overrides=QUICK).fit(x)  # fmt: skip
    loaded = aelab.load(fitted.ckpt_path_, device="cpu")
    assert loaded.get_params()["scaling"] == "minmax" and loaded.get_params()["model"] == "dense"
    np.testing.assert_allclose(loaded.transform(x), fitted.transform(x), atol=1e-6)
    np.testing.assert_allclose(loaded.inverse_transform(loaded.transform(x[:5])),
                               fitted.inverse_transform(fitted.transform(x[:5])), rtol=1e-6)  # fmt: skip
    again = clone(loaded).set_params(output_dir=str(tmp_path / "b"), overrides=QUICK).fit(x)
    assert again.scaling_.kind == "minmax" and load_model(again.ckpt_path_)[0].name == "dense"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (pd.DataFrame({"a": [1.0, np.nan, 3.0] * 10, "b": np.arange(30.0)}), r"NaN or infinite.*column a \(row 1\)"),
        (np.c_[np.arange(30.0), np.full(30, np.inf)], r"column 1 \(row 0\)"),
        (pd.DataFrame({"a": np.arange(30.0), "kind": ["x", "y", "z"] * 10}), r"not numbers: kind.*get_dummies"),
        (pd.DataFrame({"a": np.arange(30.0), "same": 5.0, "b": np.arange(30.0) ** 2}), r"column same .*constant"),
        (np.arange(60.0).reshape(30, 2), r"latent_dim=2 is not below the 2 feature\(s\)"),
    ],
    ids=["NaN", "inf", "text column", "constant column", "code as wide as the table"],
)
def test_tables_that_cannot_be_reduced_are_refused_with_what_to_do(table, message, tmp_path):
    reducer = aelab.AutoEncoderReducer(latent_dim=2, max_epochs=1, output_dir=str(tmp_path / "runs"), overrides=QUICK)
    with pytest.raises(ValueError, match=message):
        reducer.fit(table)
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())  # nothing half-made is left


def test_a_failed_fit_leaves_no_run_folder_and_no_scratch(tmp_path, cancer):
    scratch_before = set(Path(tempfile.gettempdir()).glob("aelab-fit-*"))
    reducer = aelab.AutoEncoderReducer(latent_dim=2, output_dir=str(tmp_path / "runs"),
                                       overrides=[*QUICK, "data.val_size=5000"])  # fmt: skip
    with pytest.raises(ValueError, match="data.val_size=5000 holds out"):
        reducer.fit(cancer[0])
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []
    assert set(Path(tempfile.gettempdir()).glob("aelab-fit-*")) == scratch_before


def test_fit_on_files_reads_their_class_folders_as_labels_unless_y_is_given(tmp_path):
    from aelab.data.synthetic import CLASSES, write_split

    write_split(tmp_path / "photos", per_class=8, rng=np.random.default_rng(0))
    files = sorted(str(p) for p in (tmp_path / "photos").rglob("*.jpg"))
    reducer = aelab.AutoEncoderReducer(model="dense", latent_dim=4, max_epochs=1, image_size=16,
                                       output_dir=str(tmp_path / "runs"), overrides=QUICK)  # fmt: skip
    results = json.loads((reducer.fit(files).ckpt_path_.parents[1] / "results.json").read_text())
    assert np.isfinite(results["probe/test_acc"]) and np.isfinite(results["pca/probe_test_acc"])
    assert load_checkpoint(reducer.ckpt_path_)[CONFIG_KEY]["data"]["labels_path"] is not None
    one_folder = [f for f in files if Path(f).parent.name == CLASSES[0]]
    results = json.loads((reducer.fit(one_folder).ckpt_path_.parents[1] / "results.json").read_text())
    assert "probe/test_acc" not in results  # one folder: no classes, so no probe rather than a NaN one
