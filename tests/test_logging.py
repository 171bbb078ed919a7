"""Loggers: W&B offline writes its run folder with the image panels; CSV and TensorBoard get the same panels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aelab.pipeline import train
from aelab.pipeline.loggers import resolve_wandb_offline


def test_offline_wandb_run_holds_metrics_and_images(make_config):
    cfg = make_config("data.source=sample", "logger=wandb", "trainer.max_epochs=2")
    metrics = train(cfg)
    runs = list((Path(cfg.paths.output_dir) / "wandb").glob("offline-run-*"))
    assert len(runs) == 1, runs
    images = {p.name for p in runs[0].rglob("media/images/**/*.png")}
    for panel in ("reconstructions", "latent_pair_average", "latent_class_means"):
        assert any(panel in name for name in images), (panel, images)
    assert list(runs[0].glob("run-*.wandb")), "the offline run log (metrics) is missing"
    assert "pca/test_mse" in metrics
    logged = next(runs[0].glob("run-*.wandb")).read_bytes()  # the offline run log holds each logged key by name
    assert b"ae_over_pca_test_mse" in logged and b"ae_over_pca_clipped_test_mse" in logged  # the AE/PCA ratios too
    # and, whatever the logger, the panel as a PNG in the run folder: 3 named rows of 10 digits, each enlarged
    panel = Image.open(Path(cfg.paths.output_dir) / "panels" / "images_reconstructions_epoch002.png").convert("L")
    pixels = np.asarray(panel)
    grid_width = 10 * 28 * 3 + 11 * 2 * 3  # 10 digits and their padding, enlarged 3x to 84 pixels
    assert pixels.shape[0] == 3 * 84 + 4 * 6 and pixels.shape[1] > grid_width
    margin = pixels[:, : pixels.shape[1] - grid_width]
    for row in range(3):  # each row's name is written in the margin beside it
        band = margin[6 + row * 90 : 6 + row * 90 + 84]
        assert (band < 128).any(), f"row {row} has no name"


def test_csv_logger_writes_metrics_and_png_panels(make_config):
    cfg = make_config("data.source=sample", "logger=csv")
    train(cfg)
    folder = Path(cfg.paths.output_dir) / "csv"
    header = (folder / "metrics.csv").read_text().splitlines()[0]
    for name in (
        "val/mse",
        "val/psnr",
        "val/ssim",
        "test/mse",
        "pca/test_mse",
        "pca/probe_acc",
        "probe/acc",
        "ae_over_pca_test_mse",
    ):
        assert name in header, name
    pngs = {p.name for p in (Path(cfg.paths.output_dir) / "panels").glob("*.png")}
    assert any("reconstructions" in n for n in pngs) and any("latent_class_means" in n for n in pngs)


def test_tensorboard_logger_writes_event_files(make_config):
    pytest.importorskip("tensorboard")
    cfg = make_config("data.source=sample", "logger=tensorboard")
    train(cfg)
    assert list((Path(cfg.paths.output_dir) / "tensorboard").rglob("events.out.tfevents.*"))


@pytest.mark.parametrize(
    ("setting", "env", "expected"),
    [
        (True, {}, True),
        (False, {"WANDB_MODE": "offline"}, False),
        ("auto", {"WANDB_MODE": "offline"}, True),
        ("auto", {"WANDB_MODE": "online"}, False),
        ("auto", {"WANDB_MODE": "", "WANDB_API_KEY": "x" * 40}, False),
        ("auto", {"WANDB_MODE": "", "WANDB_API_KEY": "", "HOME": "/nonexistent", "NETRC": "/nonexistent"}, True),
    ],
)
def test_wandb_goes_offline_without_a_login(monkeypatch, setting, env, expected):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert resolve_wandb_offline(setting) is expected


def test_wandb_offline_setting_is_checked():
    with pytest.raises(ValueError, match="true, false or auto"):
        resolve_wandb_offline("sometimes")


def test_resume_from_checkpoint_continues_the_same_wandb_run(make_config, tmp_path):
    first = make_config(
        "data.source=sample", "logger=wandb", "trainer.max_epochs=1", "paths.output_dir=" + str(tmp_path / "a")
    )
    train(first)
    (run_a,) = (tmp_path / "a" / "wandb").glob("offline-run-*")
    second = make_config(
        "data.source=sample",
        "logger=wandb",
        "trainer.max_epochs=2",
        f"ckpt_path={tmp_path / 'a' / 'checkpoints' / 'last.ckpt'}",
        "paths.output_dir=" + str(tmp_path / "b"),
    )
    train(second)
    (run_b,) = (tmp_path / "b" / "wandb").glob("offline-run-*")
    assert run_a.name.rsplit("-", 1)[1] == run_b.name.rsplit("-", 1)[1]  # same W&B run id
