"""The report's sections: each runs one analysis on the AE and on PCA at the same k and draws its figure.

The AE is used only through its public encode / decode / forward and PCA through its encode / decode, so the same
code serves any aelab model on any data module with ``splits``. Every section reads the ``ReportInputs`` (the two
codecs, the splits, and the codes computed once) and returns a ``Section``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from aelab.analysis.anomaly import anomaly_auroc, anomaly_mask, reconstruction_errors
from aelab.analysis.cnn_classifier import cnn_accuracy, predict, train_cnn
from aelab.analysis.codes import Batchwise, encode_images
from aelab.analysis.compression import compression_scores
from aelab.analysis.embeddings import class_separation, tsne_2d
from aelab.analysis.interpolation import decoded_class_means, decoded_midpoints, interpolate
from aelab.analysis.retrieval import nearest_neighbours, precision_at_k
from aelab.baselines.pca import PCA
from aelab.data.splits import seeded_subset
from aelab.data.tensor_data import to_unit_float
from aelab.report import figures


@dataclass
class Codec:
    """The three views of a dimensionality reducer the analyses need, all on float batches on one device."""

    encode: Batchwise
    decode: Batchwise
    reconstruct: Batchwise


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
class Section:
    """What one section gives the report."""

    metrics: dict[str, float]  # under stable names (anomaly/ae_auroc, ...)
    figures: dict[str, Path]  # figure key (the PNG's stem, as in make.TITLES) -> the PNG
    extra: dict[str, Any] = field(default_factory=dict)  # what a later section or the text needs


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


def report_inputs(
    codecs: dict[str, Codec], datamodule: Any, settings: Mapping[str, Any], k: int, device: torch.device, out_dir: Path
) -> ReportInputs:
    """The test split, the retrieval gallery and the codes of both codecs ("ae", "pca") on them, computed once for
    every section."""
    class_names = list(datamodule.class_names)
    train, test = datamodule.splits["train"], datamodule.splits["test"]
    seed, batch_size = int(settings["seed"]), int(settings["batch_size"])
    gallery_x, gallery_y = train.take(seeded_subset(len(train), int(settings["retrieval"]["gallery_samples"]), seed))
    seen = train.labels.unique()
    return ReportInputs(
        codecs=codecs,
        class_names=class_names,
        k=k,
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


def reconstructions_section(inp: ReportInputs) -> Section:
    index = seeded_subset(len(inp.test_x), int(inp.settings["reconstructions"]["num_images"]), inp.seed)
    x = inp.floats(inp.test_x[index])
    with torch.no_grad():
        ae, pca = (inp.codecs[n].reconstruct(x).view_as(x) for n in ("ae", "pca"))
    return Section(
        {},
        {"reconstructions": figures.reconstructions(x, ae, pca, inp.k, inp.out_dir / "reconstructions.png", inp.dpi)},
    )


def tsne_section(inp: ReportInputs, latent_dim: int) -> Section:
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
    return Section(metrics, {"tsne": path})


def cnn_section(inp: ReportInputs, train_split: Any) -> Section:
    """Train the CNN on original training images; score it on test originals and on both reconstructions. The CNN
    (``extra["cnn"]``) goes on to judge the latent averages."""
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
    return Section(metrics, {"cnn": figures.cnn_accuracies(bars, inp.out_dir / "cnn.png", inp.dpi)}, {"cnn": cnn})


def latent_sections(inp: ReportInputs, cnn: nn.Module) -> Section:
    """Decoded means of two codes (the CNN says whether each is recognisably one of the two classes), of each
    class, and the interpolation strips; ``extra["pairs_scored"]`` is the number of pairs the CNN judged."""
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
    return Section(metrics, {"latent_averages": averages, "interpolation": path}, {"pairs_scored": len(a_idx)})


def anomaly_section(inp: ReportInputs, anomaly: list[int], names: str) -> Section:
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
    return Section(metrics, {"anomaly": path})


def retrieval_section(inp: ReportInputs) -> Section:
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
    return Section(metrics, {"retrieval": path})


def compression_section(inp: ReportInputs) -> Section:
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
    path = figures.compression_tradeoff(points, image_bytes, inp.out_dir / "compression.png", inp.dpi)
    return Section(metrics, {"compression": path})
