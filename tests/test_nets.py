"""Nets: seed architectures, shapes, and the errors a wrong configuration gets."""

from __future__ import annotations

import pytest
import torch

from aelab.build import build
from aelab.errors import ShapeMismatchError
from aelab.models.autoencoder import AutoEncoder
from aelab.nets import ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_seed_conv_autoencoder_has_1185_parameters(make_config):
    model = build(make_config("model=conv").model)
    assert n_params(model.encoder) + n_params(model.decoder) == 1185
    assert model.code_shape == (4, 4, 4) and model.latent_dim == 64


def test_seed_dense_autoencoder_matches_the_keras_summary(make_config):
    model = build(make_config("model=dense").model)
    assert n_params(model.encoder) == 80520  # seed 000: encoder 80,520
    assert n_params(model) == 161804  # seed 000: total 161,804


def test_undercomplete_is_784_32_784(make_config):
    model = build(make_config("model=undercomplete").model)
    assert n_params(model) == 784 * 32 + 32 + 32 * 784 + 784 and model.latent_dim == 32
    assert model.hparams.loss == "bce"


def test_linear_model_has_no_nonlinearity(make_config):
    model = build(make_config("model=linear").model)
    layers = [*model.encoder.modules(), *model.decoder.modules()]
    assert {type(m).__name__ for m in layers if not list(m.children())} == {"Linear"}


def test_encoder_and_decoder_are_usable_alone():
    enc = MLPEncoder((1, 28, 28), latent_dim=5, hidden_dims=[16])
    dec = MLPDecoder((1, 28, 28), latent_dim=5, hidden_dims=[16])
    z = enc(torch.rand(3, 1, 28, 28))
    assert z.shape == (3, 5) and dec(z).shape == (3, 1, 28, 28)
    cz = ConvEncoder((1, 28, 28), channels=[8, 4])(torch.rand(2, 1, 28, 28))
    assert cz.shape == (2, 4, 7, 7)
    assert ConvDecoder(4, channels=[8, 8], out_channels=1)(cz).shape == (2, 1, 28, 28)


def test_autoencoder_accepts_ready_modules_and_flattens_codes():
    model = AutoEncoder(ConvEncoder((1, 28, 28), [4]), ConvDecoder(4, [4], 1), input_shape=(1, 28, 28))
    codes = model.encode(torch.rand(2, 1, 28, 28))
    assert codes.shape == (2, 4 * 14 * 14)
    assert model.decode(codes).shape == (2, 1, 28, 28)


@pytest.mark.parametrize("bad", [0, -3])
def test_non_positive_latent_dim_is_refused(make_config, bad):
    with pytest.raises(ValueError, match="latent_dim must be a positive integer"):
        build(make_config(f"model.latent_dim={bad}").model)


def test_encoder_input_disagreeing_with_data_shape_names_both(make_config):
    cfg = make_config("model.encoder.input_shape=[3,128,128]")
    with pytest.raises(ShapeMismatchError) as err:
        build(cfg.model)
    assert "[1, 28, 28]" in str(err.value) and "784" in str(err.value)


def test_decoder_output_disagreeing_with_input_is_refused(make_config):
    with pytest.raises(ShapeMismatchError, match=r"outputs images of shape \[1, 32, 32\]"):
        build(make_config("model=conv", "model.decoder.paddings=[same,same,same]").model)


def test_unknown_activation_lists_options():
    with pytest.raises(ValueError, match="unknown activation 'swishy'.*relu"):
        MLPEncoder((1, 28, 28), 4, hidden_dims=[8], activation="swishy")


def test_unknown_loss_lists_options(make_config):
    with pytest.raises(ValueError, match="unknown loss 'l7'.*bce"):
        build(make_config("model.loss=l7").model)
