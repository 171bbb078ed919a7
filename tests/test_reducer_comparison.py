"""The reducers an AE is weighed against: each baseline's fit / transform / inverse on real digits, the scores every
method gets, the reasons a method does not run, and evaluate.py's report.baselines end to end (see test_report.py
for the rest of the report)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from aelab.analysis.embedding_scores import code_silhouette, code_trustworthiness, knn_accuracy
from aelab.baselines.compare import (
    ComparisonData,
    MethodRow,
    compare_reducers,
    fit_subset,
    fitted_embedding,
    score_method,
)
from aelab.baselines.reducers import BaselineCannotRun, KernelPCAReducer, TSNEReducer, build_baseline
from aelab.data.mnist import load_embedded_sample
from aelab.pipeline import evaluate
from aelab.report.comparison import comparison_markdown
from aelab.report.make import cpu_threads


@pytest.fixture(autouse=True)
def one_thread():
    with cpu_threads(1):
        yield


@pytest.fixture(scope="module")
def digits() -> ComparisonData:
    """400 training and 200 test digits of the embedded MNIST sample, as a comparison sees them."""
    images, labels = load_embedded_sample()  # sorted by class: take a seeded mix
    rows = np.random.default_rng(0).permutation(len(images))[:600]
    x, y = torch.from_numpy(images[rows]), torch.from_numpy(labels[rows])
    return ComparisonData.from_uint8((x[:400], y[:400]), (x[400:], y[400:]), trust_samples=150, seed=0)


def test_scores_match_their_definitions_on_codes_with_a_known_answer():
    labels = np.repeat(np.arange(3), 20)
    apart = np.eye(3)[labels] * 10 + np.random.default_rng(0).normal(0, 0.1, (60, 3))
    assert knn_accuracy(apart, labels, apart, labels, k=5) == 1.0
    assert code_silhouette(apart, labels) > 0.9
    shuffled = np.random.default_rng(1).permutation(60)
    assert code_silhouette(apart, labels[shuffled]) < 0.1
    # codes that are the images themselves keep every neighbour; a random map does not
    images = np.random.default_rng(2).random((80, 20))
    assert code_trustworthiness(images, images) == pytest.approx(1.0)
    assert code_trustworthiness(images, np.random.default_rng(3).random((80, 2))) < 0.8


def test_pca_and_kernel_pca_fit_transform_and_invert(digits):
    rows = compare_reducers(digits, 8, ["pca", "pca_classic", "kernel_pca"], {"seed": 0})
    by_name = {row.method: row for row in rows}
    for row in rows:
        assert row.test_codes.shape == (len(digits.test_x), 8) and not row.note
        assert 0 < row.scores["test_mse"] < 0.1 and 0.5 < row.scores["knn_acc"] <= 1
        assert 0.5 < row.scores["trustworthiness"] <= 1 and row.scores["fit_seconds"] >= 0
    # clipping only moves pixels towards the truth; both PCAs share their codes
    assert by_name["pca"].scores["test_mse"] < by_name["pca_classic"].scores["test_mse"]
    assert by_name["pca"].scores["knn_acc"] == by_name["pca_classic"].scores["knn_acc"]
    assert by_name["kernel_pca"].n_fit == len(digits.train_x)  # 400 < its default max_train


@pytest.mark.slow  # ~20 s in the full suite, most of it openTSNE's first-call setup
def test_tsne_places_new_points_in_its_training_map_and_has_no_inverse(digits):
    tsne = TSNEReducer(2).fit(digits.train_x)
    before = fitted_embedding(tsne)
    row = score_method(MethodRow("tsne", "t-SNE", 2), tsne.transform, tsne.inverse_transform, before, digits, {})
    assert row.test_codes.shape == (200, 2)
    assert row.scores["knn_acc"] > 0.7  # real digits: t-SNE places new ones among their class
    assert math.isnan(row.scores["test_mse"]) and "no inverse" in row.note
    # openTSNE's transform moves its training map unless it is centred: the training codes must keep their frame
    assert np.allclose(fitted_embedding(tsne), before)
    placed = tsne.transform(digits.train_x[:30])
    extent = before.max(0) - before.min(0)
    assert np.median(np.abs(placed - before[:30]) / extent) < 0.05  # a training image lands where it was mapped


def test_a_method_that_cannot_run_at_this_k_or_size_says_why_and_what_to_set(digits):
    row = compare_reducers(digits, 16, ["tsne"], {"seed": 0})[0]
    assert all(math.isnan(v) for v in row.scores.values()) and row.test_codes is None
    assert "1 or 2 dimensions" in row.note and "k=2" in row.note
    with pytest.raises(BaselineCannotRun, match=r"set (\S+) to [\d,]+ or fewer") as refused:
        KernelPCAReducer(8, max_train=None).check(n_train=3_000_000, dim=784)
    key = re.search(r"set (\S+) to", str(refused.value)).group(1)
    evaluate_yaml = OmegaConf.load(Path(__file__).parents[1] / "conf" / "evaluate.yaml")
    assert OmegaConf.select(evaluate_yaml, key) == 5000  # the message names a key the user can set
    with pytest.raises(BaselineCannotRun, match="1 or 2 dimensions"):
        TSNEReducer(3).check(1000, 784)
    table = "\n".join(comparison_markdown([row]))
    assert "| t-SNE | 16 | 400 | n/a |" in table and "- t-SNE: t-SNE maps to 1 or 2" in table


def test_a_slow_inverse_is_scored_on_a_seeded_subsample_and_says_so(digits):
    pca = build_baseline("pca", 8).fit(digits.train_x)
    codes = pca.transform(digits.train_x)
    full = score_method(MethodRow("pca", "PCA", 8), pca.transform, pca.inverse_transform, codes, digits, {})
    part = score_method(MethodRow("pca", "PCA", 8), pca.transform, pca.inverse_transform, codes, digits, {}, 50)
    assert "test MSE on a seeded 50 of the 200 test images" in part.note and "max_inverse" in part.note
    assert part.scores["test_mse"] == pytest.approx(full.scores["test_mse"], rel=0.3)  # a sample of the same images
    assert part.scores["test_mse"] != full.scores["test_mse"] and not full.note


def test_a_subsample_is_seeded_and_no_larger_than_asked():
    a, b = fit_subset(1000, 100, seed=3), fit_subset(1000, 100, seed=3)
    assert np.array_equal(a, b) and len(np.unique(a)) == 100 and a.max() < 1000
    assert np.array_equal(fit_subset(50, 100, seed=3), np.arange(50))


def test_an_unknown_baseline_lists_the_available_ones():
    with pytest.raises(ValueError, match=r"available: pca, pca_classic, kernel_pca, umap, tsne"):
        build_baseline("isomap", 2)


@pytest.mark.slow
def test_umap_inverts_at_k2_and_explains_why_not_at_k16(digits):
    rows = compare_reducers(digits, 2, ["umap"], {"seed": 0}) + compare_reducers(digits, 16, ["umap"], {"seed": 0})
    assert 0 < rows[0].scores["test_mse"] < 0.2 and rows[0].scores["knn_acc"] > 0.6  # 400 digits: far above 0.1
    assert math.isnan(rows[1].scores["test_mse"]) and "Delaunay" in rows[1].note
    assert rows[1].scores["knn_acc"] > 0.6


def test_evaluate_with_baselines_adds_the_table_and_the_figure(make_config, trained_run, tmp_path):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(trained_run, run, ignore=shutil.ignore_patterns("wandb"))
    ckpt = run / "checkpoints" / "last.ckpt"
    small = ["report.tsne.num_samples=100", "report.tsne.max_iter=250", "report.cnn.train_samples=300"]
    small += ["report.cnn.epochs=1", "report.latent.num_scored_pairs=30", "report.retrieval.gallery_samples=1000"]
    cfg = make_config(
        f"ckpt_path={ckpt}", "trainer.accelerator=cpu", "trainer.enable_progress_bar=false", *small,
        "report.baselines=[pca,kernel_pca,tsne]", "report.compare.methods.kernel_pca.max_train=300",
        "report.compare.trust_samples=200", name="evaluate",
    )  # fmt: skip
    evaluate(cfg)
    report = run / "report"
    written = json.loads((report / "metrics.json").read_text())
    # the trained run's code has 20 dims: PCA and kernel PCA run there, t-SNE cannot and says so
    assert written["compare/kernel_pca/n_fit"] == 300 and 0 < written["compare/kernel_pca/test_mse"] < 0.2
    assert written["compare/pca/test_mse"] == pytest.approx(written["pca/test_mse_clipped"], rel=1e-4)
    assert written["compare/autoencoder/test_mse"] == pytest.approx(written["test/mse"], rel=1e-4)
    assert math.isnan(written["compare/tsne/knn_acc"])
    epochs = json.loads((run / "epoch_times.json").read_text())["epoch_seconds"]  # the AE's fit: its training
    assert written["compare/autoencoder/fit_seconds"] == pytest.approx(sum(epochs))
    markdown = (report / "report.md").read_text()
    assert "| autoencoder (dense) | 20 |" in markdown and "| kernel PCA (RBF) | 20 | 300 |" in markdown
    assert "- t-SNE: t-SNE maps to 1 or 2 dimensions" in markdown and "![" in markdown
    assert (report / "reducers.png").stat().st_size > 5000


def test_evaluate_refuses_an_unknown_baseline_before_any_work(make_config, tmp_path):
    cfg = make_config(f"ckpt_path={tmp_path / 'nothing.ckpt'}", "report.baselines=[pca,isomap]", name="evaluate")
    with pytest.raises(ValueError, match=r"unknown baseline\(s\) \['isomap'\].*available: pca, pca_classic"):
        evaluate(cfg)


def test_the_reducer_figure_draws_codes_above_2_d_by_their_neighbours_not_by_their_principal_axes():
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    from aelab.report.comparison import two_d_view

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 200)
    classes = 3.0 * np.eye(3)[labels] @ rng.normal(size=(3, 8))  # classes apart in 8 quiet directions
    codes = np.c_[classes, rng.uniform(-10, 10, (600, 2))]  # two loud directions that carry no class
    centred = codes - codes.mean(0)
    principal = centred @ np.linalg.svd(centred, full_matrices=False)[2][:2].T

    def knn(view: np.ndarray) -> float:
        return cross_val_score(KNeighborsClassifier(5), view, labels, cv=3).mean()

    assert knn(codes) > 0.95 and knn(principal) < 0.6  # the codes' neighbours know the class; their loud axes not
    assert knn(two_d_view(codes)) > 0.9
