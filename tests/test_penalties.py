"""Sparse, contractive and L2 regularisers: each term's value, sign and gradient, their composition, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra.errors import MissingConfigException

from aelab.build import build
from aelab.data.mnist import load_embedded_sample
from aelab.data.synthetic import make_intel_tree
from aelab.models.autoencoder import AutoEncoder
from aelab.models.code_transforms import KSparse
from aelab.models.penalties.contractive import Contractive, closed_form_frobenius, exact_frobenius, projected_frobenius
from aelab.models.penalties.sparsity import KLSparsity, L1Activity
from aelab.nets.conv import ConvEncoder
from aelab.nets.mlp import MLPEncoder
from aelab.pipeline import train

SIGMOID_CODE = "model.encoder.latent_activation=sigmoid"


def digits(n: int = 64) -> torch.Tensor:
    images, _ = load_embedded_sample()
    return torch.from_numpy(images[:n]).float() / 255.0


def brute_force_frobenius(encoder: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """||dz/dx||_F^2 per image from torch.autograd.functional.jacobian, one image at a time."""
    return torch.stack(
        [
            torch.autograd.functional.jacobian(lambda img: encoder(img.unsqueeze(0)).flatten(), image).pow(2).sum()
            for image in x
        ]
    )


def adam_steps(model: AutoEncoder, x: torch.Tensor, steps: int = 15, lr: float = 1e-2) -> None:
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        model.objective(x)[0].backward()
        optimizer.step()


def term_after_training(make_config, overrides: list[str], name: str, x: torch.Tensor) -> tuple[float, float]:
    """The penalty term before and after a few optimiser steps on the full objective."""
    torch.manual_seed(0)
    model = build(make_config(*overrides).model)
    model.eval()
    before = float(model.objective(x)[1][name])
    adam_steps(model, x)
    model.eval()
    return before, float(model.objective(x)[1][name])


# -- each term: its value, that it is in the loss with its weight, and that training lowers it ---------------------
@pytest.mark.parametrize(
    ("overrides", "name"),
    [
        (["penalty=l1", "model.penalties.l1.weight=1.0"], "l1"),
        (["penalty=kl_sparsity", SIGMOID_CODE, "model.penalties.kl_sparsity.weight=1.0"], "kl_sparsity"),
        (["penalty=contractive", SIGMOID_CODE, "model.penalties.contractive.weight=1.0"], "contractive"),
        (["penalty=l2_code", "model.penalties.l2.weight=1.0"], "l2"),
    ],
)
def test_each_penalty_is_added_with_its_weight_and_training_lowers_it(make_config, overrides, name):
    model = build(make_config(*overrides, "model.penalties." + name + ".weight=0.5").model)
    x = digits(16)
    total, terms, _ = model.objective(x)
    assert set(terms) == {"recon", name}
    assert float(total) == pytest.approx(float(terms["recon"].detach() + 0.5 * terms[name].detach()), rel=1e-5)
    before, after = term_after_training(make_config, overrides, name, digits())
    assert after < 0.7 * before, (before, after)  # a dropped or mis-signed term would not fall


def test_l1_term_is_the_mean_code_l1_norm_and_makes_codes_sparser(make_config):
    x = digits()
    model = build(make_config("penalty=l1").model)
    _, terms, out = model.objective(x)
    assert float(terms["l1"]) == pytest.approx(float(out.z.abs().sum(1).mean()), rel=1e-6)
    shares = {}
    for weight in (0.0, 0.05):
        torch.manual_seed(0)
        model = build(make_config("penalty=l1", f"model.penalties.l1.weight={weight}").model)
        adam_steps(model, x, steps=30)
        model.eval()
        shares[weight] = float((model.encode(x).abs() <= 1e-3).float().mean())
    assert shares[0.05] > shares[0.0] + 0.2, shares


def test_kl_sparsity_is_zero_at_the_target_rate_and_positive_elsewhere():
    penalty = KLSparsity(weight=1.0, rho=0.1)
    encoder = MLPEncoder([1, 2, 2], 3)
    at_target = penalty.term(_outputs(torch.full((8, 3), 0.1), encoder))
    off_target = penalty.term(_outputs(torch.full((8, 3), 0.5), encoder))
    assert float(at_target) == pytest.approx(0.0, abs=1e-6)
    expected = 3 * (0.1 * torch.log(torch.tensor(0.1 / 0.5)) + 0.9 * torch.log(torch.tensor(0.9 / 0.5)))
    assert float(off_target) == pytest.approx(float(expected), rel=1e-5)


def _outputs(z: torch.Tensor, encoder: torch.nn.Module):
    from aelab.models.penalties import StepOutputs

    x = torch.zeros(z.shape[0], 1, 2, 2)
    return StepOutputs(x=x, x_in=x, z=z, x_hat=x, encoder=encoder, decoder=encoder)


def test_k_sparse_keeps_exactly_the_k_largest_units(make_config):
    z = torch.tensor([[0.1, 3.0, -1.0, 2.0], [5.0, 0.0, 4.0, 1.0]])
    assert KSparse(2)(z).tolist() == [[0.0, 3.0, 0.0, 2.0], [5.0, 0.0, 4.0, 0.0]]
    model = build(make_config("penalty=ksparse", "model.code_transform.k=5").model)
    codes = model.encode(digits(8))
    assert ((codes != 0).sum(1) <= 5).all()
    _, _, out = model.objective(digits(8))
    assert ((out.z != 0).sum(1) <= 5).all()  # the decoder sees the sparse code in training too


def test_l2_penalises_only_the_named_parameters(make_config):
    model = build(make_config("penalty=l2_code").model)
    penalty = model.penalties["l2"]
    assert penalty.param_names == ["encoder.net.2.weight"]  # the dense encoder's code layer (784-100-20)
    code_weight = model.encoder.net[2].weight
    assert float(penalty.term(None)) == pytest.approx(float(code_weight.pow(2).sum()), rel=1e-6)
    penalty.term(None).backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    assert torch.allclose(grads["encoder.net.2.weight"], 2 * code_weight)
    assert all(g is None for name, g in grads.items() if name != "encoder.net.2.weight")

    patterned = build(make_config("penalty=l2_code", "model.penalties.l2.params=[decoder.net.*.weight]").model)
    assert patterned.penalties["l2"].param_names == ["decoder.net.0.weight", "decoder.net.2.weight"]


# -- contractive: every way of computing it agrees with a brute-force Jacobian -----------------------------------
def test_contractive_closed_form_matches_the_brute_force_jacobian():
    torch.manual_seed(0)
    encoder = MLPEncoder([1, 28, 28], 12, hidden_dims=[], latent_activation="sigmoid")
    x = digits(4)
    expected = brute_force_frobenius(encoder, x)
    assert torch.allclose(closed_form_frobenius(encoder.net[0], x), expected, rtol=1e-4)
    assert torch.allclose(exact_frobenius(encoder, x), expected, rtol=1e-4)


def test_contractive_exact_and_projection_match_the_brute_force_jacobian_of_a_conv_encoder():
    torch.manual_seed(0)
    encoder = ConvEncoder([1, 28, 28], channels=[4, 4], activation="tanh")
    x = digits(3)
    expected = brute_force_frobenius(encoder, x)
    assert torch.allclose(exact_frobenius(encoder, x), expected, rtol=1e-4)
    estimate = projected_frobenius(encoder, x, num_projections=400).detach()
    assert torch.allclose(estimate, expected, rtol=0.15), (estimate, expected)


@pytest.mark.parametrize("mode", ["closed_form", "exact", "projection"])
def test_contractive_term_trains_the_encoder(mode):
    torch.manual_seed(0)
    encoder = MLPEncoder([1, 28, 28], 8, hidden_dims=[], latent_activation="sigmoid")
    penalty = Contractive(weight=1.0, mode=mode)
    penalty.resolved_mode = mode
    penalty.term(_outputs_for(encoder, digits(4))).backward()
    assert encoder.net[0].weight.grad is not None and float(encoder.net[0].weight.grad.abs().sum()) > 0


def _outputs_for(encoder, x):
    from aelab.models.penalties import StepOutputs

    return StepOutputs(x=x, x_in=x, z=encoder(x), x_hat=x, encoder=encoder, decoder=encoder)


def test_contractive_auto_mode_picks_the_cheapest_exact_way(make_config):
    single = build(make_config("penalty=contractive", SIGMOID_CODE, "model.encoder.hidden_dims=[]").model)
    assert single.penalties["contractive"].resolved_mode == "closed_form"
    deep = build(make_config("penalty=contractive").model)
    assert deep.penalties["contractive"].resolved_mode == "exact"
    wide = build(make_config("penalty=contractive", "model.latent_dim=128").model)
    assert wide.penalties["contractive"].resolved_mode == "projection"


# -- composition: a real Trainer with several regularisers on MNIST and on Intel-shaped images ------------------
def test_denoising_sparse_conv_ae_composes_and_logs_every_term(make_config):
    cfg = make_config(
        "data.source=sample", "model=conv", "noise=gaussian", "penalty=[l1,l2_code]", "trainer.log_every_n_steps=1"
    )
    metrics = train(cfg)
    logged = (Path(cfg.paths.output_dir) / "csv" / "metrics.csv").read_text().splitlines()[0].split(",")
    for key in ("train/recon", "train/l1", "train/l2", "train/code_mean", "train/code_near_zero", "val/code_mean"):
        assert key in logged, logged
    assert {"test/code_mean", "test/code_near_zero", "test/denoise_mse"} <= set(metrics)


VARIANTS = {
    "l1": ["penalty=l1"],
    "kl_sparsity": ["penalty=kl_sparsity", SIGMOID_CODE],
    "contractive": ["penalty=contractive"],
    "l2_code": ["penalty=l2_code"],
    "ksparse": ["penalty=ksparse"],
    "denoising": ["noise=gaussian"],
    "deep_dense": ["model=deep_dense"],  # 784-1000-500-250-30 at 28x28; at 3x128x128 its first layer has 49M weights
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("data", ["mnist", "intel"])
def test_dense_variants_train_on_mnist_and_intel(make_config, tmp_path, variant, data):
    if data == "intel":
        root = make_intel_tree(tmp_path / "intel", per_class=2, test_per_class=1)
        data_args = ["data=intel", f"data.root={root}", "data.batch_size=4", f"data.cache_dir={tmp_path / 'cache'}",
                     "data.image_size=64"]  # fmt: skip
    else:
        data_args = ["data.source=sample"]
    metrics = train(make_config(*data_args, *VARIANTS[variant]))
    assert metrics["test/mse"] > 0 and 0 <= metrics["test/code_near_zero"] <= 1


# -- bad input ----------------------------------------------------------------------------------------------------
def test_unknown_penalty_lists_the_options(make_config):
    with pytest.raises(MissingConfigException) as err:
        make_config("penalty=dropout")
    assert all(name in str(err.value) for name in ("l1", "contractive", "ksparse"))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["penalty=contractive", "model.penalties.contractive.mode=closed_form"], "closed form needs an encoder"),
        (["penalty=ksparse", "model.code_transform.k=50"], "only 20"),
        (["penalty=l1", "model.penalties.l1.weight=-0.1"], "weight must be >= 0"),
        (["penalty=kl_sparsity"], "needs codes in \\[0, 1\\]"),
        (["penalty=l2_code", "model.penalties.l2.params=[encoder.nothing]"], "no parameter matches"),
        (["penalty=contractive", "model.penalties.contractive.mode=fast"], "unknown mode"),
        (["penalty=kl_sparsity", SIGMOID_CODE, "model.penalties.kl_sparsity.rho=1.5"], "rho must be in"),
    ],
)
def test_penalties_the_model_cannot_carry_are_refused_at_build(make_config, overrides, message):
    with pytest.raises(ValueError, match=message):
        build(make_config(*overrides).model)


def test_penalty_list_with_duplicate_names_is_refused():
    from aelab.nets.mlp import MLPDecoder

    with pytest.raises(ValueError, match="share a name"):
        AutoEncoder(
            MLPEncoder([1, 28, 28], 4), MLPDecoder([1, 28, 28], 4), [1, 28, 28], penalties=[L1Activity(), L1Activity()]
        )
