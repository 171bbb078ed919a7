"""What a run prints: a progress bar and, at the end, a few lines that say what it found and where it is.

Library noise (Lightning's device lines and tips, deprecation warnings, the model summary, W&B's banner and run
summary, the per-metric test table, aelab's own INFO lines) stays out of the console unless ``verbose=true``; the
INFO lines still go to the run's log file.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path

from aelab.baselines.pca import mse_ratio, yardstick_name

LIBRARY_LOGGERS = ("pytorch_lightning", "lightning_fabric", "lightning", "lightning.pytorch", "lightning.fabric")


@contextlib.contextmanager
def quiet_console(verbose: bool) -> Iterator[None]:
    """Within: only warnings and errors of libraries and of aelab reach the console (not the log file), deprecation
    warnings are dropped, other warnings print as one line, and W&B is silent. Everything is restored after."""
    if verbose:
        yield
        return
    loggers = {name: logging.getLogger(name) for name in LIBRARY_LOGGERS}
    levels = {name: lg.level for name, lg in loggers.items()}
    consoles = [
        h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler and h.level < logging.WARNING
    ]
    console_levels = [h.level for h in consoles]
    silent = os.environ.get("WANDB_SILENT")
    format_warning = warnings.formatwarning
    try:
        for lg in loggers.values():
            lg.setLevel(logging.WARNING)
        for handler in consoles:
            handler.setLevel(logging.WARNING)
        os.environ["WANDB_SILENT"] = "true"
        warnings.formatwarning = one_line_warning
        with warnings.catch_warnings():
            for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
                warnings.simplefilter("ignore", category)
            warnings.filterwarnings("ignore", message=".*is deprecated.*")  # Lightning's own (a UserWarning subclass)
            yield
    finally:
        for name, lg in loggers.items():
            lg.setLevel(levels[name])
        for handler, level in zip(consoles, console_levels, strict=True):
            handler.setLevel(level)
        if silent is None:
            os.environ.pop("WANDB_SILENT", None)
        else:
            os.environ["WANDB_SILENT"] = silent
        warnings.formatwarning = format_warning


def one_line_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, line: str | None = None
) -> str:
    return f"{category.__name__}: {message}\n"


# How the last lines name a setting, by the interface the run came from: train.py's keys or the reducer's parameters.
SETTINGS = {
    "train.py": {"epochs": "trainer.max_epochs", "conv": "model=conv_strided", "anchor": "model.anchor=pca",
                 "deep": "model=deep_dense"},
    "reducer": {"epochs": "max_epochs", "conv": 'model="conv_strided"', "anchor": 'overrides=["model.anchor=pca"]',
                "deep": 'model="deep_dense"'},
}  # fmt: skip
CONV_NETS = ("conv", "conv_strided", "conv_deep", "vae_conv")


def summary_lines(
    metrics: Mapping[str, float],
    model_name: str,
    output_dir: Path,
    checkpoint: str,
    interface: str = "train.py",
    keeps_run_folder: bool = True,
    images: bool = True,
) -> list[str]:
    """The run's last lines: AE against the PCA yardstick on test MSE and probe accuracy, who is ahead on each and by
    how much (and what to try when PCA is ahead), and where the run folder, the panels and the report are."""
    ae, pca, name = metrics["test/mse"], metrics["pca/test_mse_yardstick"], yardstick_name(metrics)
    probe, pca_probe = metrics.get("probe/test_acc"), metrics.get("pca/probe_test_acc")
    has_probe = probe is not None and pca_probe is not None and not math.isnan(probe)
    head = f"AE test MSE {ae:.5f} | {name} test MSE {pca:.5f} | AE/PCA ratio {mse_ratio(ae, pca):.3f}"
    lines = [head + (f" | probe accuracy AE {probe:.3f}, PCA {pca_probe:.3f}" if has_probe else "")]
    lines.append(verdict(metrics, model_name, interface, images))
    if "selection/pca_start" in metrics:
        lines.append(selection_line(metrics, Path(checkpoint).stem))
    if not keeps_run_folder:  # a reducer fitted in memory: its run folder is gone when these lines are read
        return lines
    panels = ", panels/ with the labelled image panels" if images else ""  # table rows get no panels
    lines.append(f"Run folder: {output_dir} (results.json, checkpoints/{panels})")
    evaluate = (
        "aelab-evaluate" if Path(sys.argv[0] if sys.argv else "").name.startswith("aelab-") else "python evaluate.py"
    )
    lines.append(f"Full report (figures, t-SNE, probes): {evaluate} ckpt_path={checkpoint}")
    return lines


def verdict(metrics: Mapping[str, float], model_name: str, interface: str = "train.py", images: bool = True) -> str:
    """Who is ahead on test MSE and by how much, and the probe accuracy said of the side it favours; when PCA is
    ahead, what to try, named as the interface in use names it, leaving out what the run already does."""
    ae, pca, name = metrics["test/mse"], metrics["pca/test_mse_yardstick"], yardstick_name(metrics)
    ratio = mse_ratio(ae, pca)
    probe, pca_probe = metrics.get("probe/test_acc"), metrics.get("pca/probe_test_acc")
    points = 100 * (probe - pca_probe) if probe is not None and pca_probe is not None else math.nan
    if math.isnan(points):
        probe_part = ""
    elif abs(points) < 0.05:
        probe_part = "; probe accuracy equal"
    else:
        probe_part = f"; probe accuracy {abs(points):.1f} points {'higher' if points > 0 else 'lower'} for the AE"
    if abs(ratio - 1) < 0.005:
        return f"The AE ({model_name}) is level with {name}: test MSE within 0.5% ({ratio:.3f}x){probe_part}."
    if ratio < 1:
        return f"The AE ({model_name}) is ahead: {100 * (1 - ratio):.0f}% lower test MSE than {name}{probe_part}."
    keys = SETTINGS.get(interface, SETTINGS["train.py"])
    # images: False for table rows (data=table), where conv nets and augmentation do not apply
    tries = [f"more epochs ({keys['epochs']})"]
    if images and model_name not in CONV_NETS:
        tries.append(f"a conv net ({keys['conv']})")
    if not images and model_name != "deep_dense":
        tries.append(f"a deeper net ({keys['deep']})")
    if "selection/pca_start" not in metrics:
        tries.append(f"starting at PCA ({keys['anchor']})")
    small_data = "on small data, early stopping and augmentation" if images else "on few rows, early stopping"
    return (
        f"{name} is ahead of the AE ({model_name}): the AE's test MSE is {ratio:.2f}x PCA's{probe_part}. Try "
        f"{', '.join(tries)}; {small_data} (docs/variants.md: Small data)."
    )


def selection_line(metrics: Mapping[str, float], selected: str) -> str:
    """How far the PCA-anchored model moved from its PCA start, judged on the validation split."""
    start = metrics.get("selection/start_val_mse", math.nan)
    if metrics["selection/pca_start"]:
        return (
            f"Selected the PCA start (validation MSE {start:.5f}): no epoch beat it on the validation split, so the "
            f"model tested is {yardstick_name(metrics)} itself. Train longer, or on more data."
        )
    return (
        f"Selected {selected}: {metrics['selection/best_over_start']:.3f}x the PCA start's validation loss "
        f"(validation MSE {metrics.get('val/mse', math.nan):.5f} at the last epoch, {start:.5f} at the start); chosen "
        "on the validation split, the test split only reports."
    )
