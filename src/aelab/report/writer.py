"""report.md: a heading, the AE-vs-PCA table, and each figure with one sentence that states what it shows, with
the number; the sentences are written from the metrics, so the text can never disagree with metrics.json."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aelab.baselines.pca import yardstick_name
from aelab.files import write_text_atomic


@dataclass
class ReportFigure:
    key: str  # stable name: the PNG's stem and the logger key (report/<key>)
    title: str
    path: Path
    sentence: str
    table: list[str] = field(default_factory=list)  # markdown lines shown under the sentence in report.md


def _better(ae: float, pca: float, higher_is_better: bool = True) -> str:
    if ae == pca:
        return "level with"
    return "above" if (ae > pca) == higher_is_better else "below"


def _change(m: Mapping[str, float], method: str, bits: int) -> str:
    before, after = m[f"compression/{method}_mse_float32"], m[f"compression/{method}_mse_{bits}bit"]
    return f"{100 * (after / before - 1):+.3g}% ({before:.5f} to {after:.5f})"


def findings(m: Mapping[str, float], c: Mapping[str, Any]) -> dict[str, str]:
    """One sentence per figure key, from the metrics ``m`` and the report context ``c``."""
    k, rk, bits = int(m["pca/k"]), c["retrieval_k"], c["bits"]
    ae_mse, pca_mse, pca_name = m["test/mse"], m["pca/test_mse_yardstick"], yardstick_name(m)
    seen = c["seen_classes"]
    anomaly_context = (
        f"{c['anomaly_names']} was left out of training, so it is new to both models"
        if c["anomaly_unseen"]
        else f"the model saw {c['anomaly_names']} in training (the run left no class out), so this AUROC measures "
        "how atypical that class is rather than how novel"
    )
    return {
        "reconstructions": (
            f"On the {c['num_test']} test images the AE reconstructs with MSE {ae_mse:.5f} vs {pca_name}'s "
            f"{pca_mse:.5f} (AE/PCA {ae_mse / pca_mse:.3f}; below 1 the AE wins; classic PCA-{k}: "
            f"{m['pca/test_mse']:.5f})."
        ),
        "tsne": (
            f"In t-SNE maps of {c['tsne_n']} test codes the classes separate with a silhouette of "
            f"{m['tsne/ae_silhouette']:.3f} for AE codes vs {m['tsne/pca_silhouette']:.3f} for PCA codes "
            "(1: tight, apart; 0: overlapping)."
        ),
        "latent_averages": (
            f"The CNN recognises the decoded mean of two codes as one of the two images' classes in "
            f"{m['latent/ae_midpoint_recognised']:.0%} of {c['num_pairs_scored']} pairs for the AE vs "
            f"{m['latent/pca_midpoint_recognised']:.0%} for PCA (whose mean is the double exposure of the two), and "
            f"the decoded class means as their class for {m['latent/ae_class_means_recognised']:.0%} vs "
            f"{m['latent/pca_class_means_recognised']:.0%} of {seen}."
        ),
        "interpolation": (
            f"Decoding {c['interpolation_steps']} evenly spaced codes on the line between two test images' codes: "
            "PCA's path is exactly a cross-fade of its two reconstructions (PCA is linear), the AE's shows what its "
            f"decoder makes of the codes in between (its midpoints: {m['latent/ae_midpoint_recognised']:.0%} "
            "recognised, see above)."
        ),
        "anomaly": (
            f"Scoring the {c['num_test']} test images by reconstruction error finds {c['anomaly_names']} with "
            f"AUROC {m['anomaly/ae_auroc']:.3f} for the AE vs {m['anomaly/pca_auroc']:.3f} for PCA-{k} "
            f"(0.5: chance); {anomaly_context}."
        ),
        "retrieval": (
            f"AE codes retrieve same-class training images at precision@{rk} "
            f"{m[f'retrieval/ae_precision_at_{rk}']:.3f} vs PCA's {m[f'retrieval/pca_precision_at_{rk}']:.3f} "
            f"({int(m['retrieval/num_queries'])} test queries of {seen})."
        ),
        "cnn": (
            f"A small CNN trained on {int(m['cnn/train_images'])} original training images scores "
            f"{m['cnn/acc_original']:.3f} on test originals, {m['cnn/acc_ae']:.3f} on AE reconstructions and "
            f"{m['cnn/acc_pca']:.3f} on PCA reconstructions (test images of {seen})."
        ),
        "compression": (
            f"A {k}-value code takes {m['compression/ae_code_bytes_float32']:.0f} bytes as float32 and "
            f"{m[f'compression/ae_code_bytes_{bits}bit']:.0f} at {bits} bits vs "
            f"{m['compression/image_bytes']:.0f} for the uint8 image "
            f"({m['compression/image_bytes'] / m[f'compression/ae_code_bytes_{bits}bit']:.0f}x smaller); "
            f"{bits}-bit codes change the AE's test MSE by {_change(m, 'ae', bits)} and PCA's by "
            f"{_change(m, 'pca', bits)}."
        ),
    }


def comparison_rows(m: Mapping[str, float], c: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """(measure, AE, PCA, which is better) rows for every measure the report took of both."""
    rk, bits = c["retrieval_k"], c["bits"]
    rows = [
        ("test MSE", "test/mse", "pca/test_mse_yardstick", False),
        ("test SSIM", "test/ssim", "pca/test_ssim_yardstick", True),
        ("t-SNE class silhouette", "tsne/ae_silhouette", "tsne/pca_silhouette", True),
        ("anomaly AUROC", "anomaly/ae_auroc", "anomaly/pca_auroc", True),
        (f"retrieval precision@{rk}", f"retrieval/ae_precision_at_{rk}", f"retrieval/pca_precision_at_{rk}", True),
        ("CNN accuracy on reconstructions", "cnn/acc_ae", "cnn/acc_pca", True),
        (f"test MSE from {bits}-bit codes", f"compression/ae_mse_{bits}bit", f"compression/pca_mse_{bits}bit", False),
        ("mean-code midpoints recognised", "latent/ae_midpoint_recognised", "latent/pca_midpoint_recognised", True),
    ]
    out = []
    for name, ae_key, pca_key, higher in rows:
        if ae_key in m and pca_key in m:
            ae, pca = m[ae_key], m[pca_key]
            winner = "AE" if _better(ae, pca, higher) == "above" else ("level" if ae == pca else "PCA")
            out.append((name, f"{ae:.4g}", f"{pca:.4g}", winner))
    return out


UNLABELLED = (
    "This model's data carries no classes (fitted without labels), so the sections that need them are left out: the "
    "t-SNE map and its silhouettes, the CNN, latent class averages and interpolations, anomaly detection by class and "
    "retrieval precision. Fit with labels (`fit(X, y)`, or class folders) to get them."
)


def write_markdown(path: Path, m: Mapping[str, float], c: Mapping[str, Any], figures: list[ReportFigure]) -> Path:
    """Write report.md beside the figures (links are relative, so the folder can be moved or zipped)."""
    pca_name = yardstick_name(m)
    clipped = "PCA's reconstructions are clipped to [0, 1], as the AE's output is. " if "clipped" in pca_name else ""
    lines = [
        f"# Evaluation report: {c['model_name']} on {c['data_name']} vs {pca_name}",
        "",
        f"Checkpoint `{c['ckpt_path']}`; {c['num_test']} test images; {clipped}every number is also in `metrics.json`.",
        "",
        f"| measure | AE | {pca_name} | better |",
        "|---|---|---|---|",
        *(f"| {name} | {ae} | {pca} | {winner} |" for name, ae, pca, winner in comparison_rows(m, c)),
        *([f"| CNN accuracy on test originals | {m['cnn/acc_original']:.4g} | | |"] if "cnn/acc_original" in m else []),
        "",
        *([] if c.get("labelled", True) else [UNLABELLED, ""]),
    ]
    for figure in figures:
        table = [*figure.table, ""] if figure.table else []
        lines += [f"## {figure.title}", "", figure.sentence, "", *table, f"![{figure.title}]({figure.path.name})", ""]
    write_text_atomic(path, "\n".join(lines))
    return path
