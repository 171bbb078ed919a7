"""The VAE: the Gaussian posterior's KL, sample and mode; the objective and its warm-up; real runs on MNIST and on
Intel-shaped 3x128x128 images with both panels; composition with noise and penalties; bad input and checkpoints."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch

from aelab.build import build
from aelab.data.mnist import load_embedded_sample
from aelab.data.synthetic import make_intel_tree
from aelab.errors import CheckpointError
from aelab.models.autoencoder import AutoEncoder
from aelab.models.metrics import bce_loss
from aelab.models.vae import VAE
from aelab.nets.gaussian import DiagonalGaussian
from aelab.pipeline import evaluate, train
from tests.conftest import FAST, compose_config

LOGGED_EVERY_STEP = "trainer.log_every_n_steps=1"


def digits(n: int = 32) -> torch.Tensor:
    images, _ = load_embedded_sample()
    return torch.from_numpy(images[:n].copy()).float() / 255.0


def standard_normal(shape: tuple[int, ...]) -> DiagonalGaussian:
    return DiagonalGaussian(torch.zeros(shape), torch.zeros(shape))


# -- the posterior: KL, sample, mode -----------------------------------------------------------------------------
def test_analytic_kl_matches_a_monte_carlo_estimate():
    torch.manual_seed(0)
    mean, log_var = torch.randn(4, 3), torch.randn(4, 3)
    draws = 200_000
    q = DiagonalGaussian(mean.expand(draws, 4, 3), log_var.expand(draws, 4, 3))
    z = q.sample()
    monte_carlo = (q.log_prob(z) - standard_normal(z.shape).log_prob(z)).mean(0)  # E_q[log q - log p]
    analytic = DiagonalGaussian(mean, log_var).kl()
    assert analytic.shape == (4,)
    assert torch.allclose(monte_carlo, analytic, atol=0.03, rtol=0.01), (monte_carlo, analytic)


def test_kl_is_zero_for_the_prior_itself_and_positive_elsewhere():
    assert torch.equal(standard_normal((5, 8)).kl(), torch.zeros(5))
    assert (DiagonalGaussian(torch.full((5, 8), 0.5), torch.zeros(5, 8)).kl() > 0).all()
    assert (DiagonalGaussian(torch.zeros(5, 8), torch.full((5, 8), -1.0)).kl() > 0).all()


def test_extreme_log_variances_are_clamped_to_finite_values():
    extreme = DiagonalGaussian(torch.zeros(2, 4), torch.tensor([[1e4] * 4, [-1e4] * 4]))
    assert torch.isfinite(extreme.kl()).all() and torch.isfinite(extreme.sample()).all()


def test_sample_is_reparameterised_and_mode_is_the_mean():
    mean = torch.randn(64, 6, requires_grad=True)
    log_var = torch.randn(64, 6, requires_grad=True)
    q = DiagonalGaussian(mean, log_var)
    assert q.mode() is mean
    q.sample().pow(2).sum().backward()
    assert mean.grad is not None and mean.grad.abs().sum() > 0
    assert log_var.grad is not None and log_var.grad.abs().sum() > 0
    with torch.no_grad():  # and a sample has the posterior's spread
        many = DiagonalGaussian(torch.full((100_000, 1), 2.0), torch.full((100_000, 1), math.log(0.25))).sample()
    assert float(many.mean()) == pytest.approx(2.0, abs=0.01) and float(many.std()) == pytest.approx(0.5, abs=0.01)


def test_mismatched_heads_are_refused():
    with pytest.raises(ValueError, match="same shape"):
        DiagonalGaussian(torch.zeros(2, 3), torch.zeros(2, 4))


# -- the model: codes, objective, warm-up --------------------------------------------------------------------------
def test_encode_gives_posterior_means_deterministically_in_train_mode_too(make_config):
    model = build(make_config("model=vae").model)
    model.train()
    x = digits(8)
    codes = model.encode(x)
    assert codes.shape == (8, 20)
    assert torch.equal(codes, model.encode(x))
    assert torch.equal(codes, model.encoder(x).mean)
    _, _, out = model.objective(x)
    assert not torch.allclose(out.z, codes)  # training decodes a sample, not the mean


@torch.no_grad()
def test_objective_is_recon_plus_beta_kl_in_training_and_the_negative_elbo_in_eval(make_config):
    model = build(make_config("model=vae", "model.beta=0.5").model)
    x = digits(16)
    model.train()
    total, terms, _ = model.objective(x)
    assert set(terms) == {"recon", "kl", "elbo", "beta"}
    assert float(total) == pytest.approx(float(terms["recon"] + 0.5 * terms["kl"]), rel=1e-6)
    assert float(terms["beta"]) == 0.5
    model.eval()
    total, terms, out = model.objective(x)
    assert torch.equal(out.z, model.encode(x))  # eval decodes the mean
    assert float(terms["recon"]) == pytest.approx(float(bce_loss(out.x_hat, x)) * 784, rel=1e-6)  # summed per image
    assert float(total) == pytest.approx(float(terms["recon"] + terms["kl"]), rel=1e-6)
    assert float(terms["elbo"]) == pytest.approx(-float(total), rel=1e-6)


def test_training_only_the_kl_lowers_it(make_config):
    torch.manual_seed(0)
    model = build(make_config("model=vae").model)
    with torch.no_grad():  # start far from the prior, so the KL has somewhere to go
        model.encoder.mean_head.bias.fill_(2.0)
        model.encoder.log_var_head.bias.fill_(-2.0)
    x = digits(32)
    heads = [*model.encoder.mean_head.parameters(), *model.encoder.log_var_head.parameters()]
    optimizer = torch.optim.SGD(heads, lr=0.1)
    model.train()
    before = float(model.objective(x)[1]["kl"])
    for _ in range(10):
        optimizer.zero_grad()
        model.objective(x)[1]["kl"].backward()
        optimizer.step()
    after = float(model.objective(x)[1]["kl"])
    assert after < 0.3 * before, (before, after)  # a mis-signed KL would grow


def test_sample_and_interpolate_decode_images(make_config):
    model = build(make_config("model=vae").model).eval()
    with torch.no_grad():
        samples = model.sample(6, generator=torch.Generator().manual_seed(0))
        again = model.sample(6, generator=torch.Generator().manual_seed(0))
        x = digits(4)
        path = model.interpolate(x[:2], x[2:], steps=5)
    assert samples.shape == (6, 1, 28, 28) and torch.equal(samples, again)
    assert path.shape == (2, 5, 1, 28, 28)
    assert torch.allclose(path[:, 0], model(x[:2]), atol=1e-6) and torch.allclose(path[:, -1], model(x[2:]), atol=1e-6)


# -- real runs: MNIST and 3x128x128 Intel-shaped images ------------------------------------------------------------
def logged(run_dir: Path) -> tuple[list[dict[str, str]], set[str]]:
    """The CSV logger's rows and the names of the PNG panels of a run."""
    folder = run_dir / "csv"
    with (folder / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    return rows, {p.name for p in (run_dir / "panels").glob("*.png")}


def assert_logs_elbo_terms_and_panels(run_dir: Path, metrics: dict[str, float]) -> None:
    rows, pngs = logged(run_dir)
    for key in ("train/recon", "train/kl", "train/elbo", "train/beta", "val/kl", "val/recon"):
        assert key in rows[0], key
    for panel in ("prior_samples", "latent_interpolation", "reconstructions"):
        assert any(panel in name for name in pngs), (panel, pngs)
    assert metrics["test/kl"] > 0 and math.isfinite(metrics["test/loss"]) and "test/mse" in metrics


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory) -> tuple[Path, dict[str, float]]:
    """The dense VAE on the MNIST sample with a 2-step KL warm-up, logging every step; several tests read it."""
    tmp = tmp_path_factory.mktemp("vae")
    overrides = [*FAST, "data.source=sample", "model=vae", "model.kl_warmup_steps=2", LOGGED_EVERY_STEP]
    cfg = compose_config(tmp, overrides)
    return Path(cfg.paths.output_dir), train(cfg)


def test_vae_on_mnist_logs_the_elbo_terms_and_both_panels(vae_run):
    assert_logs_elbo_terms_and_panels(*vae_run)


def test_kl_warmup_ramps_beta_from_zero_in_a_real_run(vae_run):
    rows, _ = logged(vae_run[0])
    beta = {int(r["step"]): float(r["train/beta"]) for r in rows if r.get("train/beta")}
    assert beta == {0: 0.0, 1: 0.5, 2: 1.0}, beta


def test_evaluate_loads_a_vae_checkpoint_as_a_vae(vae_run, make_config):
    ckpt = vae_run[0] / "checkpoints" / "last.ckpt"
    assert isinstance(VAE.load_from_checkpoint(ckpt, map_location="cpu", weights_only=True), VAE)
    metrics = evaluate(
        make_config(
            f"ckpt_path={ckpt}",
            "trainer.accelerator=cpu",
            "pca.max_fit_samples=1000",
            "pca.probe_train_samples=500",
            "report.tsne.num_samples=150",
            "report.tsne.max_iter=250",
            "report.cnn.train_samples=600",
            "report.cnn.epochs=1",
            "report.latent.num_scored_pairs=60",
            "report.retrieval.gallery_samples=2000",
            name="evaluate",
        )
    )
    assert metrics["test/kl"] > 0 and metrics["pca/k"] == 20  # only the VAE logs a KL


@pytest.fixture(scope="module")
def intel_data(tmp_path_factory) -> list[str]:
    """A small Kaggle-layout tree of 150x150 JPEGs read at 128x128x3, with one decode cache for every run."""
    tmp = tmp_path_factory.mktemp("intel")
    root = make_intel_tree(tmp / "intel", per_class=2, test_per_class=1)
    return ["data=intel", f"data.root={root}", "data.batch_size=4", f"data.cache_dir={tmp / 'cache'}"]


# The dense VAE's shipped widths put 25M weights in its first layer at 49,152 inputs: narrower here, same shapes.
NARROW_DENSE = [
    "model.encoder.body.hidden_dims=[]",
    "model.encoder.body.latent_dim=32",
    "model.decoder.hidden_dims=[32]",
]


@pytest.mark.parametrize(
    ("model", "data", "extra"),
    [
        ("vae_conv", "mnist", ["noise=gaussian", "penalty=l1"]),  # composes with denoising and a penalty
        ("vae_conv", "intel", []),
        ("vae", "intel", NARROW_DENSE),
    ],
)
def test_vae_variants_train_on_mnist_and_intel(make_config, intel_data, model, data, extra):
    data_args = intel_data if data == "intel" else ["data.source=sample"]
    cfg = make_config(*data_args, f"model={model}", LOGGED_EVERY_STEP, "trainer.limit_train_batches=2", *extra)
    metrics = train(cfg)
    run_dir = Path(cfg.paths.output_dir)
    assert_logs_elbo_terms_and_panels(run_dir, metrics)
    assert tuple(build(cfg.model).input_shape) == ((3, 128, 128) if data == "intel" else (1, 28, 28))
    if "penalty=l1" in extra:
        assert "train/l1" in logged(run_dir)[0][0] and "test/denoise_mse" in metrics


# -- composition with noise and penalties ------------------------------------------------------------------------
def test_penalties_see_the_sampled_code_and_noise_corrupts_the_input(make_config):
    torch.manual_seed(0)
    model = build(make_config("model=vae", "noise=gaussian", "penalty=l1", "model.penalties.l1.weight=0.1").model)
    model.train()
    x = digits(16)
    total, terms, out = model.objective(x)
    assert set(terms) == {"recon", "kl", "elbo", "beta", "l1"}
    assert not torch.equal(out.x_in, x)
    assert not torch.allclose(out.z, model.encode(out.x_in))  # the sample, not the mean
    assert float(terms["l1"]) == pytest.approx(float(out.z.abs().sum(1).mean()), rel=1e-6)
    expected = terms["recon"] + terms["kl"] + 0.1 * terms["l1"]
    assert float(total) == pytest.approx(float(expected), rel=1e-6)


def test_encoder_penalties_act_on_the_posterior_mean(make_config):
    l2 = build(make_config("model=vae", "penalty=l2_code").model)
    assert l2.penalties["l2"].param_names == ["encoder.mean_head.weight"]  # the layer that writes the code
    model = build(make_config("model=vae", "penalty=contractive").model)
    _, terms, _ = model.objective(digits(4))
    terms["contractive"].backward()
    assert float(terms["contractive"]) > 0 and model.encoder.body.net[0].weight.grad.abs().sum() > 0


# -- bad input -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model.beta=-1"], "beta \\(the KL weight\\) must be >= 0"),
        (["model.kl_warmup_steps=-5"], "kl_warmup_steps must be >= 0"),
        (["penalty=ksparse"], "code transform \\(penalty=ksparse\\) does not apply"),
        (["penalty=kl_sparsity"], "needs codes in \\[0, 1\\]"),
    ],
)
def test_settings_a_vae_cannot_take_are_refused_at_build(make_config, overrides, message):
    with pytest.raises(ValueError, match=message):
        build(make_config("model=vae", *overrides).model)


def test_an_encoder_that_gives_no_distribution_is_refused(make_config):
    cfg = make_config("model=vae")
    with pytest.raises(TypeError, match="not a DiagonalGaussian"):
        VAE(cfg.model.encoder.body, cfg.model.decoder, [1, 28, 28])


def test_a_vae_refuses_a_deterministic_checkpoint(make_config, trained_run):
    dense_ckpt = trained_run / "checkpoints" / "last.ckpt"
    with pytest.raises(CheckpointError, match="written by AutoEncoder but the configured model 'vae' is a VAE"):
        train(make_config("data.source=sample", "model=vae", f"ckpt_path={dense_ckpt}"))
    with pytest.raises(TypeError, match="the checkpoint holds a deterministic autoencoder"):
        VAE.load_from_checkpoint(dense_ckpt, map_location="cpu", weights_only=True)


def test_an_autoencoder_refuses_a_vae_checkpoint(make_config, vae_run):
    vae_ckpt = vae_run[0] / "checkpoints" / "last.ckpt"
    with pytest.raises(CheckpointError, match="written by VAE but the configured model 'dense' is a AutoEncoder"):
        train(make_config("data.source=sample", "model=dense", f"ckpt_path={vae_ckpt}"))
    with pytest.raises(TypeError, match="reloads with VAE.load_from_checkpoint"):
        AutoEncoder.load_from_checkpoint(vae_ckpt, map_location="cpu", weights_only=True)
