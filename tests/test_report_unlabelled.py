"""The report works for any checkpoint (issue 34, item 5): a model fitted without labels gets a report without the
sections that need classes, and says so, rather than a crash in the CNN section."""

from __future__ import annotations

import json

import numpy as np

import aelab
from aelab.data.mnist import load_embedded_sample
from aelab.pipeline import evaluate

QUICK = ["trainer.limit_train_batches=4", "trainer.limit_val_batches=1", "trainer.limit_test_batches=1",
         "trainer.num_sanity_val_steps=0", "callbacks.pca_baseline.max_fit_samples=300", "trainer.accelerator=cpu"]  # fmt: skip


def test_evaluate_writes_a_report_for_a_model_fitted_without_labels(tmp_path, make_config):
    images = np.array(load_embedded_sample()[0][::10, 0])  # 500 digits, no labels given
    reducer = aelab.AutoEncoderReducer(latent_dim=8, max_epochs=1, output_dir=str(tmp_path / "fits"), overrides=QUICK)
    reducer.fit(images)
    small_report = ["report.tsne.num_samples=100", "report.tsne.max_iter=250", "report.cnn.epochs=1",
                    "report.cnn.train_samples=200", "report.retrieval.num_queries=50"]  # fmt: skip
    cfg = make_config(f"ckpt_path={reducer.ckpt_path_}", f"report.dir={tmp_path / 'report'}", *small_report,
                      name="evaluate")  # fmt: skip
    metrics = evaluate(cfg)
    report = (tmp_path / "report" / "report.md").read_text()
    assert "carries no classes" in report and "left out" in report
    assert "## Reconstructions: AE vs PCA" in report and "## Compression" in report
    assert "## AE output into a CNN" not in report and "## t-SNE of test codes" not in report
    figures = json.loads((tmp_path / "report" / "metrics.json").read_text())["report/figures"]
    assert set(figures) == {"reconstructions", "compression"}
    assert metrics["test/mse"] > 0
