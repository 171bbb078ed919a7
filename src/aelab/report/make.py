"""make_report: run every analysis on the AE and on PCA at the same k, draw the figures, write report.md.

The AE is used only through its public encode / decode / forward and PCA through its encode / decode, so the same
code serves any aelab model on any data module with ``splits``. Each section below is one analysis and one figure;
they share the codes computed once in ``ReportInputs``.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from threadpoolctl import threadpool_limits
from torch import nn

from aelab.analysis.anomaly import anomaly_auroc, anomaly_mask, reconstruction_errors
from aelab.analysis.cnn_classifier import cnn_accuracy, predict, train_cnn
from aelab.analysis.codes import encode_images
from aelab.analysis.compression import compression_scores
from aelab.analysis.embeddings import class_separation, tsne_2d
from aelab.analysis.interpolation import decoded_class_means, decoded_midpoints, interpolate
from aelab.analysis.retrieval import nearest_neighbours, precision_at_k
from aelab.baselines.pca import PCA
from aelab.data.splits import seeded_subset
from aelab.data.tensor_data import to_unit_float
from aelab.report import figures
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


@dataclass
class Codec:
    """The three views of a dimensionality reducer the analyses need, all on float batches on one device."""

    encode: Callable[[torch.Tensor], torch.Tensor]
    decode: Callable[[torch.Tensor], torch.Tensor]
    reconstruct: Callable[[torch.Tensor], torch.Tensor]


def ae_codec(model: nn.Module) -> Codec:
    return Codec(encode=model.encode, decode=model.decode, reconstruct=model)


def pca_codec(pca: PCA, shape: Sequence[int], clip: bool) -> Codec:
    """PCA's tensors live on the CPU; inputs from another device go there and the results come back. ``clip``
    keeps its images in [0, 1], as the yardstick of an AE with a sigmoid output."""
    shape = tuple(shape)
    return Codec(
        encode=lambda x: pca.encode(x.cpu()).to(x.device),
        decode=lambda z: pca.decode(z.cpu(), shape, clip=clip).to(z.device),
        reconstruct=lambda x: pca.reconstruct(x.cpu(), clip=clip).to(x.device),
    )


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
    work, two threads waiting on each other made them 10-35x slower than one (measured: 2 CNN epochs 38 s vs 1.1 s,
    t-SNE of 1000 points 22 s vs 2.5 s, on 2 busy cores).
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


def anomaly_classes_for(held_out: Sequence[int], fallback: int, class_names: Sequence[str]) -> tuple[list[int], bool]:
    """The classes to detect and whether the model never saw them: the run's held-out classes when it left any
    out, else ``report.anomaly_class``."""
    if held_out:
        return sorted(int(c) for c in held_out), True
    if not 0 <= int(fallback) < len(class_names):
        known = ", ".join(f"{i}={n}" for i, n in enumerate(class_names))
        raise ValueError(f"report.anomaly_class={fallback} is not a class of this data; choose one of {known}")
    return [int(fallback)], False


@dataclass
class ReportInputs:
    """What every section uses: the two codecs, the splits, and the codes computed once."""

    codecs: dict[str, Codec]  # "ae" and "pca"
    class_names: list[str]
    k: int
    test_x: torch.Tensor  # uint8 test images, all classes
    test_y: torch.Tensor
    seen: torch.Tensor  # the classes the model (and PCA) were trained on
    seen_test: torch.Tensor  # indices of test images of those classes
    gallery_x: torch.Tensor  # (a capped subset of) the training images: retrieval gallery, quantiser fit
    gallery_y: torch.Tensor
    train_codes: dict[str, torch.Tensor]
    test_codes: dict[str, torch.Tensor]
    settings: Mapping[str, Any]
    device: torch.device
    out_dir: Path

    @property
    def seed(self) -> int:
        return int(self.settings["seed"])

    @property
    def batch_size(self) -> int:
        return int(self.settings["batch_size"])

    @property
    def dpi(self) -> int:
        return int(self.settings["dpi"])

    def floats(self, images_uint8: torch.Tensor) -> torch.Tensor:
        return to_unit_float(images_uint8, self.device)


def reconstructions_section(inp: ReportInputs) -> tuple[dict[str, float], Path]:
    index = seeded_subset(len(inp.test_x), int(inp.settings["reconstructions"]["num_images"]), inp.seed)
    x = inp.floats(inp.test_x[index])
    with torch.no_grad():
        ae, pca = (inp.codecs[n].reconstruct(x).view_as(x) for n in ("ae", "pca"))
    return {}, figures.reconstructions(x, ae, pca, inp.k, inp.out_dir / "reconstructions.png", inp.dpi)


def tsne_section(inp: ReportInputs, latent_dim: int) -> tuple[dict[str, float], Path]:
    t = inp.settings["tsne"]
    subset = seeded_subset(len(inp.test_x), int(t["num_samples"]), inp.seed)
    labels = inp.test_y[subset].numpy()
    xy = {
        n: tsne_2d(inp.test_codes[n][subset], float(t["perplexity"]), inp.seed, int(t["max_iter"])) for n in inp.codecs
    }
    metrics = {f"tsne/{n}_silhouette": class_separation(xy[n], labels) for n in inp.codecs}
    metrics["tsne/num_samples"] = float(len(subset))
    titles = (f"AE codes ({latent_dim}-dim)", f"PCA-{inp.k} codes")
    path = figures.tsne_maps(xy["ae"], xy["pca"], labels, inp.class_names, titles, inp.out_dir / "tsne.png", inp.dpi)
    return metrics, path


def cnn_section(inp: ReportInputs, train_split: Any) -> tuple[dict[str, float], Path, nn.Module]:
    """Train the CNN on original training images; score it on test originals and on both reconstructions."""
    c = inp.settings["cnn"]
    x, y = train_split.take(seeded_subset(len(train_split), int(c["train_samples"]), inp.seed))
    cnn = train_cnn(
        x, y, len(inp.class_names), int(c["epochs"]), int(c["batch_size"]), float(c["lr"]), int(c["width"]),
        seed=inp.seed, device=inp.device,
    )  # fmt: skip
    eval_x, eval_y = inp.test_x[inp.seen_test], inp.test_y[inp.seen_test]
    metrics = {"cnn/train_images": float(len(x))}
    metrics["cnn/acc_original"] = cnn_accuracy(cnn, eval_x, eval_y, None, inp.batch_size, inp.device)
    for n, codec in inp.codecs.items():
        metrics[f"cnn/acc_{n}"] = cnn_accuracy(cnn, eval_x, eval_y, codec.reconstruct, inp.batch_size, inp.device)
    bars = {"originals": metrics["cnn/acc_original"], "AE output": metrics["cnn/acc_ae"]}
    bars[f"PCA-{inp.k} output"] = metrics["cnn/acc_pca"]
    return metrics, figures.cnn_accuracies(bars, inp.out_dir / "cnn.png", inp.dpi), cnn


def latent_sections(inp: ReportInputs, cnn: nn.Module) -> tuple[dict[str, float], Path, Path, int]:
    """Decoded means of two codes (the CNN says whether each is recognisably one of the two classes), of each
    class, and the interpolation strips; returns the metrics, both figures and the number of pairs scored."""
    lt = inp.settings["latent"]
    eval_y = inp.test_y[inp.seen_test]
    generator = torch.Generator().manual_seed(inp.seed)
    n_pairs = int(lt["num_scored_pairs"])
    a_idx, b_idx = (torch.randperm(len(eval_y), generator=generator)[:n_pairs] for _ in range(2))
    keep = eval_y[a_idx] != eval_y[b_idx]  # a same-class pair says little about averaging
    a_idx, b_idx = a_idx[keep], b_idx[keep]
    a, b = inp.floats(inp.test_x[inp.seen_test[a_idx]]), inp.floats(inp.test_x[inp.seen_test[b_idx]])
    metrics, mids, means = {}, {}, {}
    for n, codec in inp.codecs.items():
        mids[n] = decoded_midpoints(codec.encode, codec.decode, a, b)
        predicted = predict(cnn, mids[n].clamp(0, 1))
        hit = (predicted == eval_y[a_idx]) | (predicted == eval_y[b_idx])
        metrics[f"latent/{n}_midpoint_recognised"] = float(hit.float().mean()) if len(hit) else float("nan")
        classes, means[n] = decoded_class_means(
            codec.encode, codec.decode, inp.test_x, inp.test_y, inp.batch_size, inp.device
        )
        seen = torch.isin(classes, inp.seen)
        recognised = predict(cnn, means[n].clamp(0, 1))[seen] == classes[seen]
        metrics[f"latent/{n}_class_means_recognised"] = float(recognised.float().mean())
    shown = int(lt["num_pairs"])
    averages = figures.latent_averages(
        a[:shown], b[:shown], mids["ae"][:shown], mids["pca"][:shown], means["ae"], means["pca"],
        inp.out_dir / "latent_averages.png", inp.dpi,
    )  # fmt: skip
    steps = int(lt["interpolation_steps"])
    strips = {n: interpolate(cd.encode, cd.decode, a[:shown], b[:shown], steps) for n, cd in inp.codecs.items()}
    path = figures.interpolation_strips(strips["ae"], strips["pca"], inp.out_dir / "interpolation.png", inp.dpi)
    return metrics, averages, path, len(a_idx)


def anomaly_section(inp: ReportInputs, anomaly: list[int], names: str) -> tuple[dict[str, float], Path]:
    is_anomaly = anomaly_mask(inp.test_y, anomaly)
    errors = {
        n: reconstruction_errors(cd.reconstruct, inp.test_x, inp.batch_size, inp.device) for n, cd in inp.codecs.items()
    }
    metrics = {f"anomaly/{n}_auroc": anomaly_auroc(errors[n], is_anomaly) for n in inp.codecs}
    metrics["anomaly/num_anomalies"] = float(is_anomaly.sum())
    titles = (f"AE: AUROC {metrics['anomaly/ae_auroc']:.3f}", f"PCA-{inp.k}: AUROC {metrics['anomaly/pca_auroc']:.3f}")
    path = figures.anomaly_histograms(
        errors["ae"], errors["pca"], is_anomaly, titles, names, inp.out_dir / "anomaly.png", inp.dpi
    )
    return metrics, path


def retrieval_section(inp: ReportInputs) -> tuple[dict[str, float], Path]:
    """Test queries (of the classes seen in training) against the training gallery, in each code space."""
    r = inp.settings["retrieval"]
    k = int(r["k"])
    queries = inp.seen_test[seeded_subset(len(inp.seen_test), int(r["num_queries"]), inp.seed)]
    neighbours = {n: nearest_neighbours(inp.test_codes[n][queries], inp.train_codes[n], k) for n in inp.codecs}
    metrics = {
        f"retrieval/{n}_precision_at_{k}": precision_at_k(inp.gallery_y[neighbours[n]], inp.test_y[queries])
        for n in inp.codecs
    }
    metrics["retrieval/num_queries"] = float(len(queries))
    # the figure shows queries of different classes: the first query of each class, as many as asked for
    first_of_class = {}
    for row, label in enumerate(inp.test_y[queries].tolist()):
        first_of_class.setdefault(label, row)
    rows = torch.tensor(list(first_of_class.values())[: int(r["num_shown"])], dtype=torch.long)
    shown = queries[rows]
    path = figures.retrieval_examples(
        to_unit_float(inp.test_x[shown]),
        *(to_unit_float(inp.gallery_x[neighbours[n][rows]]) for n in ("ae", "pca")),
        *(inp.gallery_y[neighbours[n][rows]] != inp.test_y[shown][:, None] for n in ("ae", "pca")),
        f"Test queries and their {k} nearest training images by code (red frame: another class)",
        inp.out_dir / "retrieval.png",
        inp.dpi,
    )
    return metrics, path


def compression_section(inp: ReportInputs) -> tuple[dict[str, float], Path]:
    bits = int(inp.settings["quantisation_bits"])
    metrics, points = {}, {}
    for n, cd in inp.codecs.items():
        s = compression_scores(cd.encode, cd.decode, inp.train_codes[n], inp.test_x, bits, inp.batch_size, inp.device)
        metrics["compression/image_bytes"] = float(s.image_bytes)
        metrics[f"compression/{n}_code_bytes_float32"] = float(s.code_bytes_float32)
        metrics[f"compression/{n}_code_bytes_{bits}bit"] = float(s.code_bytes_quantised)
        metrics[f"compression/{n}_mse_float32"] = s.mse_float32
        metrics[f"compression/{n}_mse_{bits}bit"] = s.mse_quantised
        label = "AE" if n == "ae" else f"PCA-{inp.k}"
        points[f"{label} float32"] = (s.code_bytes_float32, s.mse_float32)
        points[f"{label} {bits}-bit"] = (s.code_bytes_quantised, s.mse_quantised)
    image_bytes = int(metrics["compression/image_bytes"])
    return metrics, figures.compression_tradeoff(points, image_bytes, inp.out_dir / "compression.png", inp.dpi)


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
    threads = settings.get("cpu_threads") if device.type == "cpu" else None
    with cpu_threads(None if threads is None else int(threads)):
        return _make_report(model, pca, datamodule, settings, base_metrics, out_dir, held_out_classes, context, device)


def _make_report(
    model: nn.Module,
    pca: PCA,
    datamodule: Any,
    settings: Mapping[str, Any],
    base_metrics: Mapping[str, float],
    out_dir: Path,
    held_out_classes: Sequence[int],
    context: Mapping[str, Any] | None,
    device: torch.device,
) -> Report:
    started = time.perf_counter()
    model = model.to(device).eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    class_names = list(datamodule.class_names)
    anomaly, unseen = anomaly_classes_for(held_out_classes, int(settings["anomaly_class"]), class_names)
    clip = base_metrics.get("pca/yardstick_clipped", 0.0) > 0
    codecs = {"ae": ae_codec(model), "pca": pca_codec(pca, datamodule.shape, clip)}
    train, test = datamodule.splits["train"], datamodule.splits["test"]
    seed, batch_size = int(settings["seed"]), int(settings["batch_size"])
    gallery_x, gallery_y = train.take(seeded_subset(len(train), int(settings["retrieval"]["gallery_samples"]), seed))
    seen = train.labels.unique()
    inp = ReportInputs(
        codecs=codecs,
        class_names=class_names,
        k=int(base_metrics["pca/k"]),
        test_x=test.images,
        test_y=test.labels,
        seen=seen,
        seen_test=torch.isin(test.labels, seen).nonzero().flatten(),
        gallery_x=gallery_x,
        gallery_y=gallery_y,
        train_codes={n: encode_images(c.encode, gallery_x, batch_size, device) for n, c in codecs.items()},
        test_codes={n: encode_images(c.encode, test.images, batch_size, device) for n, c in codecs.items()},
        settings=settings,
        device=device,
        out_dir=out_dir,
    )
    metrics: dict[str, float] = {}
    paths: dict[str, Path] = {}
    seconds: dict[str, float] = {}

    def run(keys: tuple[str, ...], section: Callable[[], tuple]) -> Any:
        begun = time.perf_counter()
        result = section()
        metrics.update(result[0])
        paths.update(zip(keys, result[1 : 1 + len(keys)]))
        seconds["+".join(keys)] = round(time.perf_counter() - begun, 1)
        return result

    anomaly_names = " and ".join(class_label(i, class_names) for i in anomaly)
    run(("reconstructions",), lambda: reconstructions_section(inp))
    run(("tsne",), lambda: tsne_section(inp, getattr(model, "latent_dim", inp.test_codes["ae"].shape[1])))
    cnn = run(("cnn",), lambda: cnn_section(inp, train))[2]
    pairs_scored = run(("latent_averages", "interpolation"), lambda: latent_sections(inp, cnn))[3]
    run(("anomaly",), lambda: anomaly_section(inp, anomaly, anomaly_names))
    run(("retrieval",), lambda: retrieval_section(inp))
    run(("compression",), lambda: compression_section(inp))
    metrics["anomaly/unseen_in_training"] = float(unseen)

    seen_classes = (
        f"all {len(class_names)} classes"
        if len(seen) == len(class_names)
        else f"the {len(seen)} classes seen in training"
    )
    ctx = {
        "model_name": getattr(model, "name", type(model).__name__),
        "data_name": getattr(datamodule, "name", "data"),
        "ckpt_path": "",
        **(context or {}),
        "num_test": len(inp.test_x),
        "tsne_n": int(metrics["tsne/num_samples"]),
        "num_pairs_scored": pairs_scored,
        "interpolation_steps": int(settings["latent"]["interpolation_steps"]),
        "retrieval_k": int(settings["retrieval"]["k"]),
        "bits": int(settings["quantisation_bits"]),
        "anomaly_names": anomaly_names,
        "anomaly_unseen": unseen,
        "seen_classes": seen_classes,
    }
    metrics["report/seconds"] = time.perf_counter() - started
    sentences = findings({**base_metrics, **metrics}, ctx)
    report_figures = [ReportFigure(key, title, paths[key], sentences[key]) for key, title in TITLES.items()]
    markdown = write_markdown(out_dir / "report.md", {**base_metrics, **metrics}, ctx, report_figures)
    log.info("report in %s (%.1f s; seconds per section: %s)", out_dir, metrics["report/seconds"], seconds)
    return Report(metrics=metrics, figures=report_figures, markdown=markdown, anomaly_classes=anomaly)
