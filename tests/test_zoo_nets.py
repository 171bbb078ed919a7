"""Seed 004's strided conv AE and the deep dense AE: Keras-exact parameter counts, shapes, and short real runs."""

from __future__ import annotations

import itertools

import pytest
import torch

from aelab.build import build
from aelab.data.synthetic import make_intel_tree
from aelab.nets.conv_strided import StridedConvDecoder, StridedConvEncoder
from aelab.pipeline import train


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def dense(fan_in: int, fan_out: int) -> int:
    return fan_in * fan_out + fan_out


def conv(in_ch: int, out_ch: int, k: int = 3) -> int:
    return k * k * in_ch * out_ch + out_ch


def test_conv_strided_matches_the_keras_model_of_seed_004(make_config):
    model = build(make_config("experiment=seed_conv_strided_mnist").model)  # the Keras example's 16-dim code
    # Conv2D 1->32, Conv2D 32->64 (28 -> 14 -> 7), Dense 7*7*64 -> 16: 320 + 18,496 + 50,192
    assert n_params(model.encoder) == conv(1, 32) + conv(32, 64) + dense(7 * 7 * 64, 16) == 69_008
    # Dense 16 -> 7*7*64, Conv2DTranspose 64->64, 64->32, 32->1: 53,312 + 36,928 + 18,464 + 289
    assert n_params(model.decoder) == dense(16, 3136) + conv(64, 64) + conv(64, 32) + conv(32, 1) == 108_993
    assert model.latent_dim == 16 and model.code_shape == (16,)


def test_deep_dense_is_784_1000_500_250_30(make_config):
    model = build(make_config("model=deep_dense", "model.anchor=null").model)  # the net itself, not its PCA start
    sizes = [784, 1000, 500, 250, 30]
    encoder = sum(dense(a, b) for a, b in itertools.pairwise(sizes))
    decoder = sum(dense(b, a) for a, b in itertools.pairwise(sizes))
    assert n_params(model.encoder) == encoder == 1_418_280
    assert n_params(model.decoder) == decoder == 1_419_034
    assert model.latent_dim == 30
    assert isinstance(model.encoder.net[-1], torch.nn.Linear)  # linear code
    assert isinstance(model.decoder.net[-1], torch.nn.Sigmoid)


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 128, 128), (3, 37, 50), (1, 7, 7)])
def test_strided_nets_round_trip_any_image_size(shape):
    enc, dec = StridedConvEncoder(shape, 8), StridedConvDecoder(shape, 8)
    with torch.no_grad():
        z = enc(torch.rand(2, *shape))
        x_hat = dec(z)
    assert z.shape == (2, 8) and x_hat.shape == (2, *shape)
    assert float(x_hat.min()) >= 0 and float(x_hat.max()) <= 1


def test_strided_encoder_halves_sizes_rounding_up_like_keras_same():
    enc = StridedConvEncoder((1, 28, 28), 4, channels=[8, 8, 8])
    feature_map = enc.net[:-3](torch.rand(1, 1, 28, 28))  # everything before flatten, dense, code activation
    assert feature_map.shape == (1, 8, 4, 4)  # 28 -> 14 -> 7 -> 4
    assert StridedConvDecoder((1, 28, 28), 4, channels=[8, 8, 8]).feature_shape == (8, 4, 4)


def test_strided_nets_funnel_a_tiny_code_through_hidden_dense_layers():
    enc = StridedConvEncoder((1, 28, 28), 2, channels=[8, 16], dense_dims=[32])
    dec = StridedConvDecoder((1, 28, 28), 2, channels=[16, 8], dense_dims=[32])
    dense = [(m.in_features, m.out_features) for m in enc.modules() if isinstance(m, torch.nn.Linear)]
    assert dense == [(16 * 7 * 7, 32), (32, 2)]
    dense = [(m.in_features, m.out_features) for m in dec.modules() if isinstance(m, torch.nn.Linear)]
    assert dense == [(2, 32), (32, 16 * 7 * 7)]
    with torch.no_grad():
        assert dec(enc(torch.rand(3, 1, 28, 28))).shape == (3, 1, 28, 28)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"channels": []}, "at least one entry in channels"),
        ({"latent_dim": 0}, "latent_dim must be a positive integer"),
        ({"kernel_size": 4}, "kernel_size must be odd"),
    ],
)
def test_bad_strided_settings_are_refused_with_the_rule(kwargs, message):
    with pytest.raises(ValueError, match=message):
        StridedConvEncoder((1, 28, 28), **{"latent_dim": 16, **kwargs})
    with pytest.raises(ValueError, match=message):
        StridedConvDecoder((1, 28, 28), **{"latent_dim": 16, **kwargs})


@pytest.mark.parametrize("model", ["conv_strided", "deep_dense"])
def test_zoo_models_train_on_the_mnist_sample(make_config, model):
    metrics = train(make_config(f"model={model}", "data.source=sample", "data.batch_size=64"))
    assert 0 < metrics["test/mse"] < 0.5 and metrics["pca/test_mse"] > 0


def test_deep_dense_takes_custom_hidden_sizes(make_config):
    cfg = make_config(
        "model=deep_dense",
        "model.encoder.hidden_dims=[64,32]",
        "model.decoder.hidden_dims=[32,64]",
        "model.latent_dim=8",
        "data.source=sample",
    )
    model = build(cfg.model)
    assert n_params(model.encoder) == dense(784, 64) + dense(64, 32) + dense(32, 8)
    assert n_params(model.decoder) == dense(8, 32) + dense(32, 64) + dense(64, 784)
    assert train(cfg)["test/mse"] > 0


def test_conv_strided_trains_on_128px_intel_scenes(make_config, tmp_path):
    root = make_intel_tree(tmp_path / "intel", per_class=3, test_per_class=2)
    cfg = make_config("model=conv_strided", "data=intel", f"data.root={root}", "data.batch_size=8")
    model = build(cfg.model)
    assert model.input_shape == (3, 128, 128) and model.decoder.correction.net.feature_shape == (64, 32, 32)
    with pytest.warns(UserWarning, match="skipped 3"):
        metrics = train(cfg)
    assert metrics["test/mse"] > 0


@pytest.mark.parametrize(
    ("experiment", "name", "latent", "batch", "epochs", "tag"),
    [
        ("seed_deep_mnist", "seed_deep", 32, 500, 10, "seed003"),
        ("seed_conv_strided_mnist", "conv_strided", 16, 32, 10, "seed004"),
    ],
)
def test_seed_presets_compose_and_build(make_config, experiment, name, latent, batch, epochs, tag):
    cfg = make_config(f"experiment={experiment}", fast=False)
    assert cfg.data.batch_size == batch and cfg.trainer.max_epochs == epochs
    assert tag in cfg.tags and cfg.run_group == experiment
    model = build(cfg.model)
    assert model.name == name and model.latent_dim == latent
    optimizer = model.configure_optimizers()
    expected = "Adamax" if experiment == "seed_deep_mnist" else "Adam"
    assert type(optimizer).__name__ == expected
    assert build(cfg.data).shape == (1, 28, 28)
