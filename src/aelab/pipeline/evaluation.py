"""evaluate(cfg): a checkpoint's test metrics and the PCA comparison on the data it was trained on, then the report.

The data is rebuilt from the config stored in the checkpoint (``data.root=...`` and friends override parts of it,
e.g. after the folder moved) and checked against the checkpoint's split record: a folder that changed since training
would put training images into the test split. Where it writes is settled before any work starts: ``report.dir``,
then the checkpoint's run folder, then this evaluation's own output folder; metrics.json is written before the report
too, so a failure while drawing figures loses nothing already measured.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf

from aelab.baselines.pca import ae_vs_pca_line, compare_with_pca, fit_and_score_pca
from aelab.baselines.reducers import check_baseline_names
from aelab.build import build
from aelab.checkpoints import DATA_RECORD_KEY, load_model, run_dir_of, stored_data_config
from aelab.errors import DataChangedError, NotWritableError
from aelab.files import expand_path, writable_dir, write_text_atomic
from aelab.pipeline.loggers import finish_wandb, instantiate_loggers

log = logging.getLogger(__name__)

PLACEHOLDERS = ("root", "data_dir", "cache_dir")  # data.* keys evaluate.yaml declares, so they can be overridden


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Recompute a checkpoint's test metrics and the PCA comparison, then (``report.enabled``) the report: figures,
    report.md and every analysis metric; metrics.json goes beside the run and into the report folder."""
    check_comparison_request(cfg.get("report") or {})
    model, checkpoint = load_model(cfg.ckpt_path)
    data_cfg, stored = data_config(cfg, checkpoint)
    datamodule = build(data_cfg)
    model.check_data(datamodule)
    datamodule.prepare_data()
    datamodule.setup("test")
    if stored:
        check_same_data(checkpoint, datamodule, cfg)
    report_cfg = cfg.get("report") or {}
    report_dir, metric_dirs = output_folders(cfg, bool(report_cfg.get("enabled", False)))
    loggers = instantiate_loggers(cfg.get("logger"))
    trainer_cfg = cfg.trainer
    if str(trainer_cfg.get("precision")) == "auto":  # a checkpoint is scored in fp32, as its yardstick PCA is
        trainer_cfg = OmegaConf.merge(trainer_cfg, {"precision": "32-true"})
    trainer: pl.Trainer = build(trainer_cfg, logger=loggers or False, callbacks=[])
    try:
        trainer.test(model, datamodule=datamodule)
        metrics: dict[str, Any] = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
        pca, pca_metrics = fit_and_score_pca(datamodule, model.latent_dim, **cfg.pca)
        metrics |= pca_metrics
        metrics |= compare_with_pca(metrics, model.output_in_unit_range)
        print(ae_vs_pca_line(metrics))
        record: dict[str, Any] = {"ckpt_path": str(cfg.ckpt_path)}
        write_metrics(metric_dirs, record, metrics)  # now: the report below may still fail
        if report_dir is not None:
            from aelab.report.make import write_report  # here: matplotlib and t-SNE serve the report only

            report = write_report(
                cfg.report, cfg.ckpt_path, model, pca, datamodule, metrics, report_dir, trainer.loggers
            )
            metrics |= report.metrics
            record["anomaly/classes"] = report.anomaly_classes
            record["report/figures"] = {f.key: f.path.name for f in report.figures}
        for logger in trainer.loggers:  # trainer.test logged the test metrics; these come from outside it
            logger.log_metrics({k: v for k, v in metrics.items() if not k.startswith("test/")})
            logger.save()
        paths = write_metrics(metric_dirs, record, metrics)
        metrics["metrics_path"] = str(paths[0])
        if report_dir is not None:
            metrics["report_path"] = str(report_dir / "report.md")
        return metrics
    finally:
        finish_wandb(trainer.loggers)


def check_comparison_request(report_cfg: Any) -> None:
    """Refuse report.baselines with unknown names, or without the report that shows them, before any work."""
    baselines = check_baseline_names(report_cfg.get("baselines") or [])
    if baselines and not report_cfg.get("enabled", False):
        raise ValueError(
            f"report.baselines={baselines} is shown in the report, but report.enabled=false; set report.enabled=true"
        )


def data_config(cfg: DictConfig, checkpoint: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The data to evaluate on, and whether it is the stored one: ``data=<name>`` picks other data; otherwise the
    checkpoint's, with any ``data.root`` / ``data.data_dir`` / ``data.cache_dir`` given here put over it."""
    given = OmegaConf.to_container(cfg.data, resolve=True) if cfg.get("data") else {}
    given = {k: v for k, v in given.items() if not (k in PLACEHOLDERS and v is None)}
    if "_target_" in given:
        return given, False
    stored = stored_data_config(checkpoint)
    if not stored:
        raise ValueError(f"{cfg.ckpt_path} does not record its data; choose it with data=<name>")
    return {**stored, **given}, True


def check_same_data(checkpoint: dict[str, Any], datamodule: Any, cfg: DictConfig) -> None:
    """Refuse (or, with allow_changed_data=true, warn about) data whose splits differ from those trained on."""
    stored = checkpoint.get(DATA_RECORD_KEY)
    current = datamodule.split_record() if callable(getattr(datamodule, "split_record", None)) else None
    if not stored or not current:
        return
    changed = [
        f"{split}: {stored[split]['count']} images at training, {current[split]['count']} now"
        + (" (as many, but other ones)" if stored[split]["count"] == current[split]["count"] else "")
        for split in sorted(set(stored) & set(current))
        if stored[split] != current[split]
    ]
    if not changed:
        return
    message = (
        f"the data is not what {cfg.ckpt_path} was trained and split on ({'; '.join(changed)}). Its test split "
        "would now hold images the model trained on, and flatter it. Restore the data (or point data.root at an "
        "unchanged copy) to score the original test split; to evaluate on the data as it is now anyway, add "
        "allow_changed_data=true."
    )
    if not cfg.get("allow_changed_data", False):
        raise DataChangedError(message)
    log.warning("%s (allow_changed_data=true: evaluating anyway)", message)


def output_folders(cfg: DictConfig, with_report: bool) -> tuple[Path | None, list[Path]]:
    """Where the report goes (settled, and checked writable, before the work starts) and where metrics.json goes:
    beside the run and into the report folder; ``write_metrics`` falls back to this evaluation's own folder."""
    run_dir = run_dir_of(expand_path(cfg.ckpt_path))
    report_dir = None
    if with_report:
        wanted = expand_path(cfg.report.dir) if cfg.report.get("dir") else run_dir / "report"
        report_dir = _first_writable([wanted, Path(cfg.paths.output_dir) / "report"], "the report")
    return report_dir, [run_dir, *([report_dir] if report_dir is not None else []), Path(cfg.paths.output_dir)]


def _first_writable(candidates: list[Path], what: str) -> Path:
    for i, folder in enumerate(candidates):
        if writable_dir(folder):
            if i:
                log.warning("cannot write %s in %s; writing it to %s instead", what, candidates[0], folder)
            return folder
    raise NotWritableError(
        f"cannot write {what} in any of {[str(c) for c in candidates]}; set report.dir (or paths.log_dir) to a "
        "folder you can write to, with free space."
    )


def write_metrics(folders: list[Path], record: dict[str, Any], metrics: dict[str, Any]) -> list[Path]:
    """metrics.json in each of ``folders`` but the last, which is the fallback when none of them can be written."""
    text = json.dumps({**record, **metrics}, indent=2, sort_keys=True)
    *wanted, fallback = folders
    written = []
    for folder in dict.fromkeys(wanted):
        try:
            written.append(write_text_atomic(folder / "metrics.json", text))
        except OSError as err:
            log.warning("cannot write metrics.json in %s (%s)", folder, err)
    if not written:
        try:
            fallback.mkdir(parents=True, exist_ok=True)
            written.append(write_text_atomic(fallback / "metrics.json", text))
        except OSError as err:
            raise NotWritableError(
                f"cannot write metrics.json in any of {[str(f) for f in folders]} ({err}); set report.dir to a "
                "folder you can write to."
            ) from None
        log.warning("wrote metrics.json to %s instead", fallback)
    for path in written:
        log.info("wrote %s", path)
    return written
