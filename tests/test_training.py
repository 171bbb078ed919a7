"""Real Trainer runs on CPU: every model on every data option, PCA parity, NaN stop, resume, reload, bad ckpts."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from aelab.checkpoints import CONFIG_KEY
from aelab.errors import CheckpointError, NonFiniteLossError, ShapeMismatchError
from aelab.models.autoencoder import AutoEncoder
from aelab.pipeline import train

MODELS = ["dense", "undercomplete", "linear", "conv"]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("data", ["mnist", "fashion_mnist"])
def test_each_model_trains_on_each_data_option(make_config, flat_idx_dir, model, data, capsys):
    data_args = ["data.source=sample"] if data == "mnist" else [f"data.data_dir={flat_idx_dir}"]
    cfg = make_config(f"model={model}", f"data={data}", *data_args)
    metrics = train(cfg)
    for key in ("test/mse", "test/psnr", "test/ssim", "pca/test_mse", "pca/probe_acc", "probe/test_acc"):
        assert key in metrics and metrics[key] == metrics[key], key  # present and not NaN
    # the linear AE is compared with classic PCA, every sigmoid-output AE with PCA clipped to [0, 1]
    pca_key = "pca/test_mse" if model == "linear" else "pca/test_mse_clipped"
    assert metrics["ae_over_pca_test_mse"] == pytest.approx(metrics["test/mse"] / metrics[pca_key], rel=1e-9)
    assert metrics["pca/test_mse_clipped"] <= metrics["pca/test_mse"]
    assert "AE test MSE" in capsys.readouterr().out
    run = Path(cfg.paths.output_dir)
    assert json.loads((run / "results.json").read_text())["test/mse"] == metrics["test/mse"]
    assert (run / "checkpoints" / "last.ckpt").is_file()


def test_linear_autoencoder_converges_to_pca(make_config):
    """PCA is the optimal linear AE: trained to convergence, a linear AE matches PCA-k's test error."""
    cfg = make_config(
        "model=linear",
        "model.latent_dim=8",
        "model/optimizer=adam",
        "model.optimizer.lr=0.01",
        "+model.scheduler._target_=torch.optim.lr_scheduler.CosineAnnealingLR",
        "+model.scheduler._partial_=true",
        "+model.scheduler.T_max=30",
        "data.source=sample",
        "data.download=false",
        "data.batch_size=128",
        "trainer.max_epochs=30",
        "trainer.check_val_every_n_epoch=10",
        "trainer.accelerator=cpu",
        "trainer.enable_progress_bar=false",
        "trainer.enable_model_summary=false",
        "logger=csv",
        "callbacks=minimal",
        "callbacks.progress_bar=null",
        "callbacks.model_summary=null",
        fast=False,
    )
    metrics = train(cfg)
    assert metrics["test/mse"] == pytest.approx(metrics["pca/test_mse"], rel=0.03)


def test_nan_loss_stops_naming_the_step_and_keeps_the_last_good_checkpoint(make_config):
    # Epoch 0 trains normally and is checkpointed; the schedule then multiplies the learning rate by 1e12.
    cfg = make_config(
        "model=linear",
        "model/optimizer=sgd",
        "model.optimizer.lr=0.001",
        "+model.scheduler._target_=torch.optim.lr_scheduler.ExponentialLR",
        "+model.scheduler._partial_=true",
        "+model.scheduler.gamma=1e12",
        "data.source=sample",
        "trainer.max_epochs=3",
        "trainer.limit_train_batches=5",
    )
    with pytest.raises(NonFiniteLossError, match=r"at global step (\d+) \(epoch 1") as err:
        train(cfg)
    assert "model.optimizer.lr" in str(err.value)
    ckpt_dir = Path(cfg.paths.output_dir) / "checkpoints"
    saved = torch.load(ckpt_dir / "last.ckpt", map_location="cpu", weights_only=True)
    assert saved["epoch"] == 0
    assert all(torch.isfinite(t).all() for t in saved["state_dict"].values())


def test_resume_continues_at_the_next_epoch(make_config, trained_run):
    first = torch.load(trained_run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert first["epoch"] == 1 and first["global_step"] == 6
    cfg = make_config("data.source=sample", "trainer.max_epochs=3", f"ckpt_path={trained_run}/checkpoints/last.ckpt")
    train(cfg)
    resumed = torch.load(
        Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True
    )
    assert resumed["epoch"] == 2 and resumed["global_step"] == 9  # one more epoch of 3 batches, not a restart
    rows = list(csv.DictReader((Path(cfg.paths.output_dir) / "csv" / "metrics.csv").open()))
    epochs = {int(float(row["epoch"])) for row in rows if row.get("val/loss")}
    assert epochs == {2}


def test_checkpoint_reloads_without_the_config(trained_run):
    path = trained_run / "checkpoints" / "last.ckpt"
    model = AutoEncoder.load_from_checkpoint(path, map_location="cpu", weights_only=True)
    assert model.name == "dense" and model.latent_dim == 20
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, 1, 28, 28)
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    assert checkpoint[CONFIG_KEY]["data"]["name"] == "mnist"


def test_resume_from_a_missing_checkpoint_says_where_runs_save(make_config, tmp_path):
    with pytest.raises(CheckpointError, match="does not exist.*checkpoints/"):
        train(make_config("data.source=sample", f"ckpt_path={tmp_path}/nope.ckpt"))


def test_resume_with_another_model_is_refused_before_training(make_config, trained_run):
    cfg = make_config("model=conv", "data.source=sample", f"ckpt_path={trained_run}/checkpoints/last.ckpt")
    with pytest.raises(CheckpointError, match="holds a different model \\('dense'"):
        train(cfg)
    assert not Path(cfg.paths.output_dir).exists()  # no epoch ran: nothing was logged or checkpointed


def test_model_input_disagreeing_with_data_is_refused_before_training(make_config):
    cfg = make_config("data.source=sample", "model.input_shape=[3,32,32]")
    with pytest.raises(
        ShapeMismatchError, match=r"takes inputs of shape \[3, 32, 32\] but data mnist gives \[1, 28, 28\]"
    ):
        train(cfg)
    assert not Path(cfg.paths.output_dir).exists()  # refused before the trainer, logger or a checkpoint existed


def test_debug_fast_runs_one_batch_of_everything(make_config, capsys):
    metrics = train(make_config("data.source=sample", "debug=fast", "logger=wandb"))
    assert "test/mse" in metrics and "AE test MSE" in capsys.readouterr().out
