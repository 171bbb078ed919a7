"""train(cfg) and evaluate(cfg): instantiate the parts from the Hydra config, fit, test, report AE vs PCA."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import LearningRateMonitor

from aelab.baselines.pca import ae_vs_pca_line, compare_with_pca, fit_and_score_pca
from aelab.callbacks.pca_baseline import PCABaseline
from aelab.checkpoints import (
    CONFIG_KEY,
    WANDB_RUN_KEY,
    ConfigInCheckpoint,
    check_same_model,
    load_checkpoint,
    load_model,
    run_dir_of,
)
from aelab.errors import NonFiniteLossError
from aelab.instantiate import build, finish_wandb, instantiate_callbacks, instantiate_loggers
from aelab.models.autoencoder import AutoEncoder

log = logging.getLogger(__name__)

# Lightning notes these on every run; both are by design here (the model scales uint8 batches itself).
for _message in (".*overridden `on_after_batch_transfer`.*", ".*smaller than the logging interval.*"):
    warnings.filterwarnings("ignore", message=_message)


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit the configured autoencoder, test it, and report it against PCA at the same code size."""
    if cfg.get("seed") is not None:
        pl.seed_everything(cfg.seed, workers=True)
    datamodule = build(cfg.data)
    model: AutoEncoder = build(cfg.model)
    model.check_data(datamodule)
    resume_run_id = None
    if cfg.get("ckpt_path"):
        checkpoint = load_checkpoint(cfg.ckpt_path)
        check_same_model(checkpoint, model, cfg.ckpt_path)
        resume_run_id = checkpoint.get(WANDB_RUN_KEY)
        del checkpoint

    loggers = instantiate_loggers(cfg.get("logger"), wandb_resume_id=resume_run_id)
    callbacks = instantiate_callbacks(cfg.get("callbacks"))
    if not loggers:
        callbacks = [cb for cb in callbacks if not isinstance(cb, LearningRateMonitor)]
    if not any(isinstance(cb, PCABaseline) for cb in callbacks):
        callbacks.append(PCABaseline())  # the yardstick is part of every run
    resolved = OmegaConf.to_container(cfg, resolve=True)
    callbacks.append(ConfigInCheckpoint(resolved))
    trainer: pl.Trainer = build(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    for logger in trainer.loggers:
        logger.log_hyperparams(resolved)

    output_dir = Path(cfg.paths.output_dir)
    try:
        try:
            trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
        except NonFiniteLossError as err:
            saved = sorted(output_dir.glob("checkpoints/*.ckpt"))
            log.error("%s\nLast good checkpoints: %s", err, [str(p) for p in saved] or "none written yet")
            raise
        # the last validation metrics (what a sweeper optimises), then the test metrics of the best checkpoint
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
        if cfg.get("test", True):
            best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
            trainer.test(model, datamodule=datamodule, ckpt_path="best" if best else None)
            metrics |= {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
            if trainer.is_global_zero:  # the PCA yardstick is computed (and reported) by rank 0 only
                baseline = next(cb for cb in trainer.callbacks if isinstance(cb, PCABaseline))
                metrics |= baseline.metrics
                metrics |= compare_with_pca(metrics, model.output_in_unit_range)
                metrics["model/parameters"] = sum(p.numel() for p in model.parameters())
                print(ae_vs_pca_line(metrics))
                output_dir.mkdir(parents=True, exist_ok=True)
                (output_dir / "results.json").write_text(json.dumps(metrics, indent=2, sort_keys=True))
        return metrics
    finally:
        finish_wandb(trainer.loggers)


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Recompute a checkpoint's test metrics and the PCA comparison, then (``report.enabled``) the report: figures,
    report.md and every analysis metric; metrics.json goes beside the run and into the report folder."""
    model, checkpoint = load_model(cfg.ckpt_path)
    data_cfg = cfg.get("data") or checkpoint.get(CONFIG_KEY, {}).get("data")
    if not data_cfg:
        raise ValueError(f"{cfg.ckpt_path} does not record its data; choose it with data=<name>")
    datamodule = build(data_cfg)
    model.check_data(datamodule)
    loggers = instantiate_loggers(cfg.get("logger"))
    trainer: pl.Trainer = build(cfg.trainer, logger=loggers or False, callbacks=[])
    try:
        trainer.test(model, datamodule=datamodule)
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
        pca, pca_metrics = fit_and_score_pca(datamodule, model.latent_dim, **cfg.pca)
        metrics |= pca_metrics
        metrics |= compare_with_pca(metrics, model.output_in_unit_range)
        print(ae_vs_pca_line(metrics))
        run_dir = run_dir_of(cfg.ckpt_path)
        record: dict[str, Any] = {"ckpt_path": str(cfg.ckpt_path)}
        outputs = [run_dir / "metrics.json"]
        report_cfg = cfg.get("report") or {}
        if report_cfg.get("enabled", False):
            report_dir = Path(report_cfg.get("dir") or run_dir / "report")
            from aelab.report.make import write_report  # here: matplotlib and t-SNE serve the report only

            report = write_report(
                cfg.report, cfg.ckpt_path, model, pca, datamodule, metrics, report_dir, trainer.loggers
            )
            metrics |= report.metrics
            record["anomaly/classes"] = report.anomaly_classes
            record["report/figures"] = {f.key: f.path.name for f in report.figures}
            outputs.append(report_dir / "metrics.json")
        for logger in trainer.loggers:  # trainer.test logged the test metrics; these come from outside it
            logger.log_metrics({k: v for k, v in metrics.items() if not k.startswith("test/")})
            logger.save()
        for out in outputs:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps({**record, **metrics}, indent=2, sort_keys=True))
            log.info("wrote %s", out)
        metrics["metrics_path"] = str(outputs[0])  # type: ignore[assignment]
        if len(outputs) > 1:
            metrics["report_path"] = str(outputs[1].parent / "report.md")  # type: ignore[assignment]
        return metrics
    finally:
        finish_wandb(trainer.loggers)
