"""make_report: run every section of the report on the AE and on PCA at the same k, write report.md beside the
figures, and (``write_report``, evaluate.py's entry) send the figures to the loggers.

The sections themselves are in sections.py; the sentences and the table of report.md in writer.py.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from threadpoolctl import threadpool_limits
from torch import nn

from aelab.baselines.pca import PCA
from aelab.baselines.reducers import check_baseline_names
from aelab.models.metrics import is_table_shape
from aelab.panels import log_figure
from aelab.report.comparison import (
    comparison_markdown,
    comparison_metrics,
    comparison_sentence,
    run_comparison,
    training_seconds,
)
from aelab.report.sections import (
    Section,
    ae_codec,
    anomaly_section,
    cnn_section,
    compression_section,
    latent_sections,
    pca_codec,
    reconstructions_section,
    report_inputs,
    retrieval_section,
    tsne_section,
)
from aelab.report.writer import ReportFigure, findings, write_markdown

log = logging.getLogger(__name__)

TITLES = {  # figure key (the PNG's stem) -> section title, in report order
    "reconstructions": "Reconstructions: AE vs PCA",
    "tsne": "t-SNE of test codes",
    "latent_averages": "Latent averages",
    "interpolation": "Interpolation between two codes",
    "anomaly": "Anomaly detection by reconstruction error",
    "retrieval": "Retrieval by nearest codes",
    "cnn": "AE output into a CNN",
    "compression": "Compression",
}
REDUCERS = ("reducers", "Which reducer? The AE beside other reducers")  # the last section, with report.baselines


@dataclass
class Report:
    metrics: dict[str, float]  # new metrics only, under stable names (anomaly/ae_auroc, ...)
    figures: list[ReportFigure]
    markdown: Path
    anomaly_classes: list[int] = field(default_factory=list)


def resolve_device(setting: str) -> torch.device:
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(setting)


@contextlib.contextmanager
def cpu_threads(n: int | None) -> Iterator[None]:
    """At most ``n`` torch and OpenMP/BLAS threads inside the block (None: unchanged).

    The report's pieces are small (a CNN on 28x28 images, t-SNE of a thousand points); on a CPU shared with other
    work, threads waiting on each other make them many times slower than one thread.
    """
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(before)


def class_label(index: int, class_names: Sequence[str]) -> str:
    """'class 9 (Ankle boot)', or 'class 9' where the name is the index (MNIST's digits)."""
    name = class_names[index]
    return f"class {index}" if name == str(index) else f"class {index} ({name})"


def is_labelled(labels: torch.Tensor) -> bool:
    """Whether the test images carry at least two classes (a model fitted without labels has all -1)."""
    known = labels[labels >= 0]
    return len(torch.unique(known)) >= 2


def anomaly_classes_for(held_out: Sequence[int], fallback: int, class_names: Sequence[str]) -> tuple[list[int], bool]:
    """The classes to detect and whether the model never saw them: the run's held-out classes when it left any
    out, else ``report.anomaly_class``."""
    if held_out:
        return sorted(int(c) for c in held_out), True
    if not 0 <= int(fallback) < len(class_names):
        known = ", ".join(f"{i}={n}" for i, n in enumerate(class_names))
        raise ValueError(f"report.anomaly_class={fallback} is not a class of this data; choose one of {known}")
    return [int(fallback)], False


def make_report(
    model: nn.Module,
    pca: PCA,
    datamodule: Any,
    settings: Mapping[str, Any],
    base_metrics: Mapping[str, float],
    out_dir: Path,
    held_out_classes: Sequence[int] = (),
    context: Mapping[str, Any] | None = None,
) -> Report:
    """Every analysis of the report on the data module's train and test splits, the PNGs and report.md in
    ``out_dir``; ``held_out_classes`` are the classes the model's run left out of training."""
    device = resolve_device(settings["device"])
    baselines = check_baseline_names(settings.get("baselines") or [])  # before any work: a typo fails at once
    threads = settings.get("cpu_threads") if device.type == "cpu" else None
    with cpu_threads(None if threads is None else int(threads)):
        started = time.perf_counter()
        model = model.to(device).eval()
        out_dir.mkdir(parents=True, exist_ok=True)
        class_names = list(datamodule.class_names)
        clip = base_metrics.get("pca/yardstick_clipped", 0.0) > 0  # PCA as the AE's yardstick: see baselines/pca.py
        codecs = {"ae": ae_codec(model), "pca": pca_codec(pca, datamodule.shape, clip)}
        inp = report_inputs(codecs, datamodule, settings, int(base_metrics["pca/k"]), device, out_dir)
        labelled = is_labelled(inp.test_y)
        anomaly, unseen = (
            anomaly_classes_for(held_out_classes, int(settings["anomaly_class"]), class_names)
            if labelled
            else ([], False)
        )
        metrics: dict[str, float] = {}
        paths: dict[str, Path] = {}
        seconds: dict[str, float] = {}

        def run(section: Callable[[], Section]) -> Section:
            begun = time.perf_counter()
            result = section()
            metrics.update(result.metrics)
            paths.update(result.figures)
            seconds["+".join(result.figures)] = round(time.perf_counter() - begun, 1)
            return result

        anomaly_names = " and ".join(class_label(i, class_names) for i in anomaly)
        table = is_table_shape(tuple(datamodule.shape))  # rows, not images: no section that draws or decodes images
        if not table:
            run(lambda: reconstructions_section(inp))
        pairs_scored = 0
        if labelled:  # the sections that need classes: colours and silhouettes, the CNN, class means, AUROC, precision
            run(lambda: tsne_section(inp, getattr(model, "latent_dim", inp.test_codes["ae"].shape[1])))
            if not table:
                cnn = run(lambda: cnn_section(inp, datamodule.splits["train"])).extra["cnn"]
                pairs_scored = run(lambda: latent_sections(inp, cnn)).extra["pairs_scored"]
            run(lambda: anomaly_section(inp, anomaly, anomaly_names))
            if not table:
                run(lambda: retrieval_section(inp))
        if not table:
            run(lambda: compression_section(inp))
        tables = {}
        if baselines:
            begun = time.perf_counter()
            compare = {**settings["compare"], "seed": inp.seed}
            fit_seconds = training_seconds((context or {}).get("ckpt_path", ""))
            rows, paths["reducers"] = run_comparison(
                model, datamodule, baselines, compare, device, out_dir, inp.dpi, fit_seconds
            )
            metrics.update(comparison_metrics(rows))
            tables["reducers"] = comparison_markdown(rows)
            seconds["reducers"] = round(time.perf_counter() - begun, 1)
        metrics["anomaly/unseen_in_training"] = float(unseen)

        seen_classes = (
            f"all {len(class_names)} classes"
            if len(inp.seen) == len(class_names)
            else f"the {len(inp.seen)} classes seen in training"
        )
        ctx = {
            "model_name": getattr(model, "name", type(model).__name__),
            "data_name": getattr(datamodule, "name", "data"),
            "ckpt_path": "",
            **(context or {}),
            "num_test": len(inp.test_x),
            "tsne_n": int(metrics.get("tsne/num_samples", 0)),
            "labelled": labelled,
            "num_pairs_scored": pairs_scored,
            "interpolation_steps": int(settings["latent"]["interpolation_steps"]),
            "retrieval_k": int(settings["retrieval"]["k"]),
            "bits": int(settings["quantisation_bits"]),
            "anomaly_names": anomaly_names,
            "anomaly_unseen": unseen,
            "seen_classes": seen_classes,
        }
        metrics["report/seconds"] = time.perf_counter() - started
        # a section left out (no labels) has no metrics: its sentence is written from placeholders and dropped below
        sentences = findings(defaultdict(lambda: -1.0, {**base_metrics, **metrics}), ctx)
        if baselines:
            sentences["reducers"] = comparison_sentence(rows)
        report_figures = [
            ReportFigure(key, title, paths[key], sentences[key], tables.get(key, []))
            for key, title in [*TITLES.items(), *([REDUCERS] if baselines else [])]
            if key in paths
        ]
        markdown = write_markdown(out_dir / "report.md", {**base_metrics, **metrics}, ctx, report_figures)
        log.info("report in %s (%.1f s; seconds per section: %s)", out_dir, metrics["report/seconds"], seconds)
        return Report(metrics=metrics, figures=report_figures, markdown=markdown, anomaly_classes=anomaly)


def write_report(
    settings: Mapping[str, Any],
    ckpt_path: str | Path,
    model: nn.Module,
    pca: PCA,
    datamodule: Any,
    metrics: Mapping[str, float],
    report_dir: Path,
    loggers: Sequence[Any],
) -> Report:
    """evaluate.py's report of the checkpoint at ``ckpt_path``: ``make_report``, then each figure to the loggers."""
    held_out = datamodule.excluded_class_indices(datamodule.hparams.get("exclude_classes"))
    report = make_report(model, pca, datamodule, settings, metrics, report_dir, held_out, {"ckpt_path": str(ckpt_path)})
    for figure in report.figures:
        log_figure(loggers, f"report/{figure.key}", figure.path, figure.sentence)
    print(f"report: {report.markdown} ({report.metrics['report/seconds']:.0f} s)")
    return report
