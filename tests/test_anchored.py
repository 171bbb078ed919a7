"""An autoencoder that starts where PCA ends (issue 33): before the first step its codes and reconstructions are clipped
PCA-k's, validation is scored at that start, and the run tests the start when no epoch beats it; the model stays a
plain checkpoint for aelab.load, encode and the ONNX export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import aelab
from aelab.baselines.pca import PCA
from aelab.build import build
from aelab.data.mnist import load_embedded_sample
from aelab.nets.anchored import set_anchor
from aelab.pipeline import train
from tests.conftest import compose_config

NETS = {  # net: (overrides, image shape)
    "dense": (["model=dense"], (1, 28, 28)),
    "deep_dense": (
        ["model=deep_dense", "model.encoder.hidden_dims=[64,32]", "model.decoder.hidden_dims=[32,64]"],
        (1, 28, 28),
    ),
    "conv": (["model=conv"], (1, 28, 28)),
    "conv_strided": (["model=conv_strided"], (1, 28, 28)),
    "conv_deep": (
        ["model=conv_deep", "data=image_folder", "data.root=.", "data.image_size=16", "model.latent_dim=32"],
        (3, 16, 16),
    ),
    "linear": (["model=linear"], (1, 28, 28)),
}


def anchored_model(tmp_path: Path, net: str):
    overrides, shape = NETS[net]
    cfg = compose_config(tmp_path, [*overrides, "model.anchor=pca"])
    cfg.model.input_shape = list(shape)
    return build(cfg.model), shape


def images_of(shape: tuple[int, ...], n: int = 200) -> torch.Tensor:
    if shape == (1, 28, 28):
        return torch.from_numpy(np.array(load_embedded_sample()[0][:n])).float() / 255
    generator = torch.Generator().manual_seed(0)  # colour scenes: smooth gradients plus noise
    base = torch.linspace(0, 1, shape[1])[None, None, :, None] * torch.rand(n, shape[0], 1, 1, generator=generator)
    return (base + 0.2 * torch.rand(n, *shape, generator=generator)).clamp(0, 1)


@pytest.mark.parametrize("net", sorted(NETS))
def test_before_the_first_step_codes_and_images_are_clipped_pcas(net, tmp_path):
    model, shape = anchored_model(tmp_path, net)
    x = images_of(shape)
    pca = PCA(model.latent_dim).fit(x[:150].flatten(1))
    assert set_anchor(model, pca.mean, pca.components)
    model.eval()
    with torch.no_grad():
        codes, pca_codes = model.encode(x[150:]), pca.encode(x[150:].flatten(1))
        torch.testing.assert_close(codes, pca_codes, atol=1e-5, rtol=0)
        clip = model.output_in_unit_range
        images, pca_images = model(x[150:]), pca.reconstruct(x[150:].flatten(1), clip=clip).view_as(x[150:])
        torch.testing.assert_close(images, pca_images, atol=1e-5, rtol=0)
    assert clip == (net != "linear")  # the linear AE's yardstick is classic PCA: nothing is clipped
    assert not set_anchor(model, pca.mean + 1, pca.components), "a set anchor is kept (a resumed run keeps its own)"


def test_both_corrections_get_a_gradient_at_the_start(tmp_path):
    from aelab.nets.anchored import last_weighted_layer

    model, shape = anchored_model(tmp_path, "conv_strided")
    x = images_of(shape, 64)
    pca = PCA(model.latent_dim).fit(x.flatten(1))
    set_anchor(model, pca.mean, pca.components)
    torch.nn.functional.mse_loss(model(x), x).backward()
    for part in (model.encoder, model.decoder):
        assert last_weighted_layer(part.correction.net).weight.grad.abs().sum() > 0


def run_anchored(tmp_path: Path, *extra: str) -> tuple[dict, Path]:
    cfg = compose_config(tmp_path, [
        "model=dense", "model.anchor=pca", "data.source=sample", "trainer.accelerator=cpu", "logger=csv",
        "trainer.max_epochs=2", "trainer.limit_train_batches=4", "trainer.enable_progress_bar=false",
        "callbacks.progress_bar=null", "callbacks.model_summary=null", "callbacks.pca_baseline.probe_train_samples=300",
        "callbacks.latent_probe.train_samples=300", *extra,
    ])  # fmt: skip
    return train(cfg), Path(cfg.paths.output_dir)


def test_a_run_that_never_beats_its_pca_start_tests_the_start_which_is_clipped_pca(tmp_path, capsys):
    metrics, run = run_anchored(tmp_path, "model.optimizer.lr=0.0")  # no step moves it: every epoch ties the start
    assert metrics["selection/pca_start"] == 1.0
    assert (run / "checkpoints" / "pca_start.ckpt").is_file()
    start = json.loads((run / "checkpoints" / "pca_start.json").read_text())["scores"]
    assert start["val/mse"] == pytest.approx(metrics["pca/val_mse_clipped"], rel=1e-5)  # the start *is* PCA
    assert metrics["test/mse"] == pytest.approx(metrics["pca/test_mse_clipped"], rel=1e-5)
    assert "Selected the PCA start" in capsys.readouterr().out


def test_a_run_that_improves_on_its_start_tests_its_best_epoch_and_says_how_far_it_moved(tmp_path, capsys):
    metrics, run = run_anchored(tmp_path, "model/optimizer=adam", "model.optimizer.lr=1e-3")
    assert metrics["selection/pca_start"] == 0.0 and metrics["selection/best_over_start"] < 1.0
    assert metrics["ae_over_pca_test_mse"] < 1.0
    out = capsys.readouterr().out
    assert "the PCA start's validation loss" in out and "chosen on the validation split" in out
    reducer = aelab.load(next((run / "checkpoints").glob("epoch*.ckpt")), device="cpu")
    images = load_embedded_sample()[0][:8, 0]
    assert reducer.transform(images).shape == (8, 20)


def test_an_anchored_checkpoint_exports_to_onnx_with_the_same_codes_and_images(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from aelab.export import export

    _, run = run_anchored(tmp_path, "model/optimizer=adam", "trainer.max_epochs=1")
    reducer = aelab.load(run / "checkpoints" / "last.ckpt", device="cpu")
    paths = export(reducer, tmp_path / "exported", "onnx")
    images = reducer.images(load_embedded_sample()[0][:16, 0]).numpy()
    codes = ort.InferenceSession(str(paths["encoder"])).run(None, {"images": images})[0]
    np.testing.assert_allclose(codes, reducer.transform(images), atol=1e-4)
    decoded = ort.InferenceSession(str(paths["decoder"])).run(None, {"codes": codes})[0]
    np.testing.assert_allclose(decoded, reducer.inverse_transform(codes), atol=1e-4)


def test_a_vae_refuses_the_anchor_and_says_why(tmp_path):
    cfg = compose_config(tmp_path, ["model=vae", "model.anchor=pca"])
    with pytest.raises(ValueError, match="distribution"):
        build(cfg.model)
