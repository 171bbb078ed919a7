"""Seed 002's deep conv AE: exact parameter counts, other image sizes, and training on Intel-layout images."""

from __future__ import annotations

import pytest
import torch

from aelab.build import build
from aelab.data.synthetic import make_intel_tree
from aelab.errors import ShapeMismatchError
from aelab.models.metrics import RoundedAccuracy
from aelab.nets.conv_deep import DeepConvDecoder, DeepConvEncoder
from aelab.pipeline import train


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_match_seed_002(make_config):
    model = build(make_config("model=conv_deep", "data=intel").model)
    assert n_params(model.encoder) == 2_093_888
    assert n_params(model.decoder) == 1_587_011
    assert model.latent_dim == 1024 and model.input_shape == (3, 128, 128)


def test_lecun_normal_init_gives_unit_variance_selu_codes():
    torch.manual_seed(0)
    z = DeepConvEncoder((3, 64, 64))(torch.randn(16, 3, 64, 64))
    assert 0.5 < float(z.std()) < 1.5  # self-normalising: neither vanishing nor exploding


@pytest.mark.parametrize(("size", "latent"), [(32, 1024), (64, 1024), (96, 1152)])
def test_other_image_sizes_work(size, latent):
    enc, dec = DeepConvEncoder((3, size, size), latent), DeepConvDecoder((3, size, size), latent)
    assert dec(enc(torch.rand(2, 3, size, size))).shape == (2, 3, size, size)


def test_sizes_the_net_cannot_produce_are_refused_with_the_rule():
    with pytest.raises(ShapeMismatchError, match="multiple of 8"):
        DeepConvDecoder((3, 100, 100))
    with pytest.raises(ShapeMismatchError, match="too small for 4 2x2 poolings"):
        DeepConvEncoder((3, 8, 8))
    with pytest.raises(ShapeMismatchError, match="multiple of 16"):
        DeepConvDecoder((3, 32, 32), latent_dim=1000)


def test_rounded_accuracy_counts_matching_rounded_pixels():
    metric = RoundedAccuracy()
    metric.update(torch.tensor([0.2, 0.6, 0.9, 0.4]), torch.tensor([0.0, 1.0, 0.0, 0.45]))
    assert float(metric.compute()) == pytest.approx(0.75)


@pytest.fixture
def intel_root(tmp_path):
    return make_intel_tree(tmp_path / "intel", per_class=3, test_per_class=2)


def test_conv_deep_trains_on_intel_images(make_config, intel_root, capsys):
    cfg = make_config(
        "model=conv_deep",
        "data=intel",
        f"data.root={intel_root}",
        "data.image_size=32",
        "data.batch_size=8",
        "model.channels_last=true",
    )
    with pytest.warns(UserWarning, match="skipped 3"):
        metrics = train(cfg)
    assert metrics["test/rounded_acc"] > 0 and metrics["pca/test_mse"] > 0
    assert "AE test MSE" in capsys.readouterr().out


@pytest.mark.parametrize("model", ["dense", "linear", "conv"])
def test_mnist_shaped_nets_refuse_intel_data_naming_both_shapes(make_config, intel_root, model):
    cfg = make_config(f"model={model}", "data=intel", f"data.root={intel_root}", "model.input_shape=[1,28,28]")
    with pytest.raises(ShapeMismatchError, match=r"\[1, 28, 28\] but data intel gives \[3, 128, 128\]"):
        train(cfg)
