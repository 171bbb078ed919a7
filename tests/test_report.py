"""The evaluation report: each analysis on small real data with a known answer, the data module's class exclusion,
and evaluate.py writing report.md, metrics.json and every figure for a trained checkpoint."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from aelab.analysis.anomaly import anomaly_auroc, anomaly_mask, reconstruction_errors
from aelab.analysis.cnn_classifier import SmallCNN, cnn_accuracy, train_cnn
from aelab.analysis.compression import MinMaxQuantiser, compression_scores
from aelab.analysis.embeddings import class_separation, tsne_2d
from aelab.analysis.interpolation import decoded_class_means, decoded_midpoints, interpolate
from aelab.analysis.retrieval import nearest_neighbours, precision_at_k
from aelab.baselines.pca import PCA
from aelab.data.mnist import MNISTDataModule, load_embedded_sample
from aelab.pipeline import evaluate
from aelab.report.make import TITLES, anomaly_classes_for, cpu_threads

# Small caps so an evaluate with the report takes seconds on the session's trained checkpoint.
SMALL = [
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "pca.max_fit_samples=1000",
    "pca.probe_train_samples=500",
    "report.tsne.num_samples=150",
    "report.tsne.max_iter=250",
    "report.cnn.train_samples=600",
    "report.cnn.epochs=2",
    "report.latent.num_scored_pairs=60",
    "report.retrieval.gallery_samples=2000",
]


@pytest.fixture(autouse=True)
def one_thread():
    """The analyses run here as the report runs them on a CPU: one thread (report.cpu_threads)."""
    with cpu_threads(1):
        yield


def digits(*classes: int, n: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` real MNIST digits of each given class from the embedded sample: uint8 (N, 1, 28, 28) and labels."""
    images, labels = load_embedded_sample()
    rows = np.concatenate([np.flatnonzero(labels == c)[:n] for c in classes])
    return torch.from_numpy(images[rows].copy()), torch.from_numpy(labels[rows].copy())


# -- retrieval ---------------------------------------------------------------------------------------------------


def test_retrieval_precision_is_one_when_codes_are_the_labels():
    gallery_y, query_y = torch.arange(10).repeat(20), torch.arange(10).repeat(3)
    one_hot = torch.nn.functional.one_hot
    neighbours = nearest_neighbours(one_hot(query_y, 10).float(), one_hot(gallery_y, 10).float(), k=10, batch_size=7)
    assert neighbours.shape == (30, 10)
    assert precision_at_k(gallery_y[neighbours], query_y) == 1.0
    # codes that carry no label information retrieve at chance (one in ten)
    constant = nearest_neighbours(torch.zeros(30, 4), torch.zeros(200, 4), k=200)
    assert precision_at_k(gallery_y[constant], query_y) == pytest.approx(0.1)


def test_nearest_neighbours_come_nearest_first_and_k_is_checked():
    gallery = torch.tensor([[0.0], [10.0], [3.0], [1.0]])
    assert nearest_neighbours(torch.tensor([[0.2], [9.0]]), gallery, k=3).tolist() == [[0, 3, 2], [1, 2, 3]]
    with pytest.raises(ValueError, match="between 1 and the gallery size 4"):
        nearest_neighbours(torch.zeros(1, 1), gallery, k=5)


# -- anomaly detection -------------------------------------------------------------------------------------------


def test_auroc_is_one_when_every_anomaly_has_the_larger_error():
    x, y = digits(1, n=100)
    x = torch.cat([x, 255 - x[:30]])  # inverted digits: mostly ink, so far brighter than any real digit
    is_anomaly = anomaly_mask(torch.cat([y, torch.full((30,), 10)]), [10])
    blank = lambda batch: torch.zeros_like(batch)  # noqa: E731  error = mean squared brightness
    errors = reconstruction_errors(blank, x, batch_size=64)
    assert errors.shape == (130,)
    assert torch.allclose(errors, x.float().div(255).pow(2).flatten(1).mean(1))
    assert is_anomaly.sum() == 30 and errors[is_anomaly].min() > errors[~is_anomaly].max()
    assert anomaly_auroc(errors, is_anomaly) == 1.0
    assert anomaly_auroc(-errors, is_anomaly) == 0.0


def test_pca_fit_without_a_class_finds_it_by_reconstruction_error():
    train_x, _ = digits(1, n=300)
    test_x, test_y = digits(0, 1, n=400)
    test_x, test_y = test_x[torch.arange(len(test_x)) % 400 >= 300], test_y[torch.arange(len(test_x)) % 400 >= 300]
    pca = PCA(8).fit(train_x.float().div(255))
    errors = reconstruction_errors(pca.reconstruct, test_x)
    assert anomaly_auroc(errors, anomaly_mask(test_y, [0])) > 0.95


def test_auroc_needs_both_kinds_of_image():
    with pytest.raises(ValueError, match="needs both anomalies and normal images"):
        anomaly_auroc(torch.rand(5), torch.zeros(5, dtype=torch.bool))


# -- compression -------------------------------------------------------------------------------------------------


def test_8bit_quantisation_stays_within_half_a_step():
    codes = torch.randn(500, 20) * torch.linspace(0.1, 10, 20)
    quantiser = MinMaxQuantiser.fit(codes, bits=8)
    q = quantiser.quantise(codes)
    assert q.min() >= 0 and q.max() <= 255
    error = (quantiser.dequantise(q) - codes).abs()
    assert (error <= quantiser.scale / 2 + 1e-5).all()
    # values outside the fitted range saturate at its ends instead of wrapping around
    assert quantiser.quantise(codes.max(0).values[None] + 100).eq(255).all()


def test_compression_sizes_and_errors_of_pca_codes():
    x, _ = digits(0, 1, 2, n=100)
    pca = PCA(16).fit(x.float().div(255))
    fit_codes = pca.encode(x.float().div(255))
    scores = compression_scores(pca.encode, lambda z: pca.decode(z, (1, 28, 28)), fit_codes, x, bits=8)
    assert (scores.image_bytes, scores.code_bytes_float32, scores.code_bytes_quantised) == (784, 64, 16)
    exact = (pca.reconstruct(x.float().div(255)) - x.float().div(255)).pow(2).mean()
    assert scores.mse_float32 == pytest.approx(float(exact), rel=1e-5)
    assert scores.mse_float32 <= scores.mse_quantised < 1.05 * scores.mse_float32  # 8 bits cost little


# -- embeddings, CNN, interpolation ------------------------------------------------------------------------------


def test_tsne_gives_reproducible_2d_points_that_keep_clusters_apart():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 30)
    codes = rng.normal(size=(90, 8)) + 20 * np.eye(8)[labels]
    a, b = (tsne_2d(codes, seed=0, max_iter=250) for _ in range(2))
    assert a.shape == (90, 2) and np.array_equal(a, b)  # the same map every time
    assert class_separation(a, labels) > 0.5
    assert tsne_2d(codes[:10], perplexity=30.0, max_iter=250).shape == (10, 2)  # perplexity is lowered for few points


def test_cnn_learns_digits_and_takes_colour_images():
    x, y = digits(0, 1, 7, n=200)
    train = torch.arange(len(x)) % 200 < 150  # 150 of each class to train on, 50 to test
    cnn = train_cnn(x[train], y[train], num_classes=10, epochs=4, batch_size=32, seed=0)
    test_x, test_y = x[~train], y[~train]
    accuracy = cnn_accuracy(cnn, test_x, test_y)
    assert accuracy > 0.8
    assert cnn_accuracy(cnn, test_x, test_y, transform=lambda x: x) == accuracy
    assert cnn_accuracy(cnn, test_x, test_y, transform=torch.zeros_like) < 0.5  # blank images carry no class
    assert SmallCNN(3, 6)(torch.rand(2, 3, 64, 64)).shape == (2, 6)


def test_pca_interpolation_is_a_cross_fade_with_the_mean_code_in_the_middle():
    x, y = digits(0, 1, 2, n=100)
    pca = PCA(10).fit(x.float().div(255))
    decode = lambda z: pca.decode(z, (1, 28, 28))  # noqa: E731
    a, b = x[:3].float().div(255), x[-3:].float().div(255)
    path = interpolate(pca.encode, decode, a, b, steps=5)
    assert path.shape == (3, 5, 1, 28, 28)
    ends = pca.reconstruct(a), pca.reconstruct(b)
    assert torch.allclose(path[:, 0], ends[0], atol=1e-5) and torch.allclose(path[:, -1], ends[1], atol=1e-5)
    assert torch.allclose(path[:, 2], decoded_midpoints(pca.encode, decode, a, b), atol=1e-5)
    assert torch.allclose(path[:, 2], (ends[0] + ends[1]) / 2, atol=1e-5)  # linear: the double exposure
    classes, means = decoded_class_means(pca.encode, decode, x, y)
    assert classes.tolist() == [0, 1, 2] and means.shape == (3, 1, 28, 28)
    pixel_mean = x[y == 1].float().div(255).mean(0, keepdim=True)
    assert torch.allclose(means[1:2], pca.reconstruct(pixel_mean), atol=1e-4)  # linear: PCA of the pixel mean


# -- data: leaving classes out of training -----------------------------------------------------------------------


def test_excluded_classes_leave_train_and_val_but_stay_in_test():
    dm = MNISTDataModule(source="sample", exclude_classes=[9, "3"])  # an index or a class name
    dm.setup()
    for split in ("train", "val"):
        assert not torch.isin(dm.splits[split].labels, torch.tensor([3, 9])).any()
    assert torch.bincount(dm.splits["test"].labels).tolist() == [100] * 10
    full = MNISTDataModule(source="sample")
    full.setup()
    kept = (~torch.isin(full.splits["train"].labels, torch.tensor([3, 9]))).sum()
    assert len(dm.splits["train"]) == kept  # every other training image is still there
    x, _ = next(iter(dm.train_dataloader()))
    assert x.dtype == torch.uint8 and x.shape[1:] == (1, 28, 28)


def test_fashion_classes_can_be_excluded_by_name(flat_idx_dir):
    dm = MNISTDataModule(name="fashion_mnist", data_dir=str(flat_idx_dir), source="full", exclude_classes=["Trouser"])
    dm.setup()
    assert 1 not in dm.splits["train"].labels.tolist() and 1 in dm.splits["test"].labels.tolist()


def test_bad_exclusions_are_refused_with_the_classes_named():
    with pytest.raises(ValueError, match=r"mnist has no class 10.*0=0, 1=1"):
        MNISTDataModule(source="sample", exclude_classes=[10])
    with pytest.raises(ValueError, match="has no class 'Shirt'"):
        MNISTDataModule(source="sample", exclude_classes=["Shirt"])
    with pytest.raises(ValueError, match="leaves out every class"):
        MNISTDataModule(source="sample", exclude_classes=list(range(10)))


# -- evaluate.py end to end --------------------------------------------------------------------------------------


def copy_run(trained_run: Path, tmp_path: Path) -> Path:
    run = tmp_path / "copy"
    shutil.copytree(trained_run, run, ignore=shutil.ignore_patterns("wandb"))
    return run / "checkpoints" / "last.ckpt"


def test_evaluate_writes_the_report_with_every_figure_and_metric(make_config, trained_run, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    ckpt = copy_run(trained_run, tmp_path)
    cfg = make_config(f"ckpt_path={ckpt}", *SMALL, "logger=tensorboard", name="evaluate")
    metrics = evaluate(cfg)
    report = ckpt.parents[1] / "report"
    assert metrics["report_path"] == str(report / "report.md")
    written = json.loads((report / "metrics.json").read_text())
    assert written == json.loads((ckpt.parents[1] / "metrics.json").read_text())
    for key in (
        "anomaly/ae_auroc",
        "anomaly/pca_auroc",
        "retrieval/ae_precision_at_10",
        "retrieval/pca_precision_at_10",
        "cnn/acc_original",
        "cnn/acc_ae",
        "cnn/acc_pca",
        "compression/image_bytes",
        "compression/ae_code_bytes_float32",
        "compression/ae_code_bytes_8bit",
        "compression/ae_mse_8bit",
        "compression/pca_mse_8bit",
        "tsne/ae_silhouette",
        "latent/ae_midpoint_recognised",
    ):
        assert -1 <= written[key] < float("inf"), key  # (a silhouette may be negative)
    # the float32 codes decode to exactly the test error that the test loop and the PCA yardstick measured; the
    # report's PCA is the clipped one, the dense AE's yardstick
    assert written["compression/ae_mse_float32"] == pytest.approx(written["test/mse"], rel=1e-4)
    assert written["compression/pca_mse_float32"] == pytest.approx(written["pca/test_mse_clipped"], rel=1e-4)
    assert "vs clipped PCA-20" in (report / "report.md").read_text().splitlines()[0]
    # the run saw every class: the configured class is the anomaly, and the report says the model saw it
    assert written["anomaly/classes"] == [0] and written["anomaly/unseen_in_training"] == 0.0
    assert written["retrieval/num_queries"] == 1000 and written["cnn/train_images"] == 600

    markdown = (report / "report.md").read_text()
    linked = set(re.findall(r"!\[[^]]*\]\(([^)]+\.png)\)", markdown))
    assert linked == {f"{key}.png" for key in TITLES} == set(written["report/figures"].values())
    for name in linked:
        assert (report / name).stat().st_size > 5000, name  # a real picture, not an empty canvas
    assert "the model saw class 0 in training" in markdown
    assert f"precision@10 {written['retrieval/ae_precision_at_10']:.3f}" in markdown
    # the figures went to TensorBoard as images too
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard")).Reload()
    assert {f"report/{key}" for key in TITLES} <= set(events.Tags()["images"])


def test_a_class_left_out_of_training_becomes_the_anomaly(make_config, trained_run, tmp_path):
    ckpt = copy_run(trained_run, tmp_path)
    excluded = ["data=mnist", "data.source=sample", "data.download=false", "data.exclude_classes=[2]"]
    out = tmp_path / "elsewhere"
    cfg = make_config(f"ckpt_path={ckpt}", *SMALL, *excluded, f"report.dir={out}", "logger=wandb", name="evaluate")
    metrics = evaluate(cfg)
    written = json.loads((out / "metrics.json").read_text())
    assert written["anomaly/classes"] == [2] and written["anomaly/unseen_in_training"] == 1.0
    assert written["anomaly/num_anomalies"] == 100
    # retrieval queries and the CNN's test images are the 900 test digits of the classes seen in training
    assert metrics["retrieval/num_queries"] == 900
    assert "class 2 was left out of training" in (out / "report.md").read_text()
    assert not (ckpt.parents[1] / "report").exists()  # report.dir moved it
    # W&B (offline) received every figure as an image
    logged = {
        p.name.split("_")[0] for p in (tmp_path / "run" / "wandb").glob("offline-run-*/files/media/images/report/*.png")
    }
    assert logged == {key.split("_")[0] for key in TITLES}


def test_the_anomaly_class_is_the_held_out_one_or_a_checked_fallback():
    names = [str(d) for d in range(10)]
    assert anomaly_classes_for([9, 2], fallback=0, class_names=names) == ([2, 9], True)
    assert anomaly_classes_for([], fallback=4, class_names=names) == ([4], False)
    with pytest.raises(ValueError, match=r"report.anomaly_class=12 is not a class of this data.*9=9"):
        anomaly_classes_for([], fallback=12, class_names=names)
