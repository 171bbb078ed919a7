"""Denoising: the noise options, their bad input, and training that corrupts inputs but scores clean targets."""

from __future__ import annotations

import pytest
import torch

from aelab.build import build
from aelab.nets.corruption import GaussianNoise, Masking, SaltAndPepper
from aelab.pipeline import train


@pytest.mark.parametrize("noise", [GaussianNoise(0.5), SaltAndPepper(0.2), Masking(0.3)])
def test_corruptions_change_the_image_and_stay_in_range(noise):
    torch.manual_seed(0)
    x = torch.rand(4, 1, 28, 28) * 0.5 + 0.25
    noisy = noise(x)
    assert noisy.shape == x.shape and float(noisy.min()) >= 0 and float(noisy.max()) <= 1
    changed = (noisy != x).float().mean()
    assert changed > 0.1


def test_corruption_levels_set_how_much_changes():
    x = torch.full((8, 1, 28, 28), 0.5)
    assert float((Masking(0.5)(x) == 0).float().mean()) == pytest.approx(0.5, abs=0.05)
    salt_pepper = SaltAndPepper(0.2)(x)
    assert float((salt_pepper == 1).float().mean()) == pytest.approx(0.1, abs=0.03)
    assert float((GaussianNoise(0.1, clip=False)(x) - x).std()) == pytest.approx(0.1, abs=0.01)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: GaussianNoise(-0.1), "factor must be >= 0"),
        (lambda: SaltAndPepper(1.5), "amount must be >= 0 and at most 1.0"),
        (lambda: Masking(-1), "fraction must be >= 0"),
    ],
)
def test_negative_or_impossible_noise_levels_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_noise_corrupts_the_input_in_training_only(make_config):
    model = build(make_config("noise=masking", "model.noise.fraction=0.5").model)
    x = torch.rand(2, 1, 28, 28)
    model.train()
    _, _, out = model.objective(x)
    assert not torch.equal(out.x_in, x) and torch.equal(out.x, x)  # corrupted input, clean target
    model.eval()
    _, _, out = model.objective(x)
    assert torch.equal(out.x_in, x)


@pytest.mark.parametrize("noise", ["gaussian", "salt_pepper", "masking"])
def test_denoising_trains_and_reports_the_denoising_error(make_config, noise):
    metrics = train(make_config("data.source=sample", f"noise={noise}", "model=conv"))
    assert metrics["test/denoise_mse"] > 0 and metrics["test/mse"] > 0


def test_unknown_noise_lists_the_options(make_config):
    from hydra.errors import MissingConfigException

    with pytest.raises(MissingConfigException) as err:
        make_config("noise=pink")
    assert "gaussian" in str(err.value) and "masking" in str(err.value)


def test_seed_denoising_experiment_is_the_32_32_conv_net(make_config):
    cfg = make_config("experiment=seed_denoising_mnist", fast=False)
    model = build(cfg.model)
    assert isinstance(model.noise, GaussianNoise) and model.noise.factor == 0.5
    assert model.code_shape == (32, 7, 7)
    assert sum(p.numel() for p in model.parameters()) == 320 + 9248 + 9248 + 9248 + 289
