"""The PCA yardstick cannot flatter the AE: classic and clipped PCA agree with scikit-learn, the randomized path
with the exact one, every sigmoid-output AE is compared with clipped PCA, and evaluate.py scores a checkpoint exactly
as training scored it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA as SklearnPCA

from aelab.baselines.pca import PCA, evaluate_pca
from aelab.build import build
from aelab.data.mnist import load_embedded_sample
from aelab.pipeline import evaluate, train


@pytest.fixture(scope="module")
def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """Real MNIST digits from the embedded sample, uint8 (N, 1, 28, 28): 1,500 to fit on, 500 to score."""
    images = torch.from_numpy(load_embedded_sample()[0].copy())
    return images[:1500], images[1500:2000]


def sklearn_mse(train: torch.Tensor, test: torch.Tensor, k: int) -> tuple[float, float]:
    """Classic and [0, 1]-clipped test MSE of scikit-learn's exact PCA, as a user would compute them in numpy."""
    x_train = train.flatten(1).double().numpy() / 255
    x_test = test.flatten(1).double().numpy() / 255
    pca = SklearnPCA(n_components=k, svd_solver="full").fit(x_train)
    recon = pca.inverse_transform(pca.transform(x_test))
    return float(((recon - x_test) ** 2).mean()), float(((np.clip(recon, 0, 1) - x_test) ** 2).mean())


@pytest.mark.parametrize("n_fit", [1500, 300])  # more images than pixels (covariance), fewer (Gram matrix)
def test_classic_and_clipped_pca_mse_agree_with_scikit_learn(digits, n_fit):
    train, test = digits
    train = train[:n_fit]
    classic, clipped = sklearn_mse(train, test, k=20)
    scores = evaluate_pca(PCA(20, method="exact").fit(train.float() / 255), test)
    assert scores.mse == pytest.approx(classic, rel=1e-6)
    assert scores.mse_clipped == pytest.approx(clipped, rel=1e-6)
    assert scores.mse_clipped < scores.mse  # clipping only moves pixels towards the truth
    assert scores.psnr_clipped > scores.psnr


@pytest.mark.parametrize("k", [20, 64, 200])
def test_randomized_pca_matches_the_exact_decomposition_within_half_a_percent(digits, k):
    """The path every 3x128x128 Intel run takes (too many values for an exact fit), checked where both fit."""
    train, test = digits
    x = train.float() / 255
    exact = evaluate_pca(PCA(k, method="exact").fit(x), test)
    randomized = evaluate_pca(PCA(k, method="randomized").fit(x), test)
    assert randomized.mse == pytest.approx(exact.mse, rel=5e-3)
    assert randomized.mse_clipped == pytest.approx(exact.mse_clipped, rel=5e-3)


def test_an_unknown_pca_method_is_refused():
    with pytest.raises(ValueError, match=r"unknown PCA method 'svd'; choose one of \['auto', 'exact', 'randomized'\]"):
        PCA(5, method="svd")


@pytest.mark.parametrize(
    ("model", "clipped"),
    [
        ("dense", True),
        ("undercomplete", True),
        ("deep_dense", True),
        ("conv", True),
        ("conv_strided", True),
        ("vae", True),
        ("vae_conv", True),
        ("linear", False),  # no output activation: it converges to classic PCA, its fair yardstick
    ],
)
def test_each_model_is_measured_against_the_pca_its_output_can_match(make_config, model, clipped):
    net = build(make_config(f"model={model}", "data.source=sample").model)
    assert net.output_in_unit_range is clipped


def test_training_reports_both_pca_figures_and_compares_with_the_clipped_one(trained_run):
    m = json.loads((trained_run / "results.json").read_text())
    assert 0 < m["pca/test_mse_clipped"] < m["pca/test_mse"]
    assert m["pca/test_psnr_clipped"] > m["pca/test_psnr"]
    assert m["pca/yardstick_clipped"] == 1.0  # the dense AE ends in a sigmoid
    assert m["pca/test_mse_yardstick"] == m["pca/test_mse_clipped"]
    assert m["ae_over_pca_test_mse"] == pytest.approx(m["test/mse"] / m["pca/test_mse_clipped"], rel=1e-12)
    assert m["ae_over_pca_classic_test_mse"] == pytest.approx(m["test/mse"] / m["pca/test_mse"], rel=1e-12)


def test_linear_ae_keeps_its_comparison_with_classic_pca(make_config, capsys):
    m = train(make_config("model=linear", "data.source=sample"))
    assert m["pca/yardstick_clipped"] == 0.0
    assert m["ae_over_pca_test_mse"] == pytest.approx(m["test/mse"] / m["pca/test_mse"], rel=1e-12)
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("AE test MSE"))
    assert "| PCA-32 test MSE" in line and "clipped" not in line


def best_checkpoint(run: Path) -> Path:
    """The checkpoint train() tested: the best one (ModelCheckpoint keeps one beside last.ckpt)."""
    (best,) = [p for p in (run / "checkpoints").glob("*.ckpt") if p.name != "last.ckpt"]
    return best


def test_evaluate_scores_a_checkpoint_exactly_as_the_training_run_did(make_config, trained_run):
    trained = json.loads((trained_run / "results.json").read_text())
    same_pca = ["pca.max_fit_samples=1000", "pca.probe_train_samples=500"]  # as the training run (FAST)
    ckpt = f"ckpt_path={best_checkpoint(trained_run)}"
    metrics = evaluate(make_config(ckpt, "trainer.accelerator=cpu", *same_pca, "report.enabled=false", name="evaluate"))
    # the same weights on the same split: equal test error, and the same PCA yardstick
    assert metrics["test/mse"] == pytest.approx(trained["test/mse"], abs=1e-6)
    assert metrics["test/ssim"] == pytest.approx(trained["test/ssim"], abs=1e-6)
    assert metrics["pca/test_mse_clipped"] == pytest.approx(trained["pca/test_mse_clipped"], rel=1e-6)
    assert metrics["ae_over_pca_test_mse"] == pytest.approx(trained["ae_over_pca_test_mse"], rel=1e-4)
