"""train(cfg): instantiate the parts from the Hydra config, fit, test, report AE vs PCA."""

from __future__ import annotations

import json
import logging
import sys
import warnings
from pathlib import Path

import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf, open_dict
from pytorch_lightning.callbacks import LearningRateMonitor, ModelSummary

from aelab.baselines.pca import check_yardstick_size, compare_with_pca
from aelab.build import build
from aelab.callbacks.pca_baseline import PCABaseline
from aelab.callbacks.time_budget import TimeBudget
from aelab.checkpoints import (
    WANDB_RUN_KEY,
    ConfigInCheckpoint,
    DigestCheckpointIO,
    InterruptCheckpoint,
    ResumeState,
    check_same_model,
    read_checked,
)
from aelab.data.tables import TableDataModule
from aelab.ddp import job_scope
from aelab.errors import NonFiniteLossError, NotWritableError
from aelab.files import expand_path, write_text_atomic
from aelab.models.autoencoder import AutoEncoder
from aelab.pipeline.console import quiet_console, summary_lines
from aelab.pipeline.hardware import choose_precision
from aelab.pipeline.loggers import finish_wandb, instantiate_callbacks, instantiate_loggers
from aelab.pipeline.resume import EXIT_CODES, check_resume_overrides, interrupted_message, resume_command
from aelab.pipeline.selection import select, validate_at_start

log = logging.getLogger(__name__)

# Lightning notes these on every run; all are by design here (the model scales uint8 batches itself; an anchored run
# keeps its PCA start in checkpoints/ before the first epoch).
for _message in (".*overridden `on_after_batch_transfer`.*", ".*smaller than the logging interval.*",
                 ".*Checkpoint directory .* exists and is not empty.*", ".*is not resumable.*"):  # fmt: skip
    warnings.filterwarnings("ignore", message=_message)


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit the configured autoencoder, test it, and report it against PCA at the same code size.

    SIGTERM or Ctrl+C during fit saves ``checkpoints/interrupted.ckpt``, prints the command that resumes it and
    exits with 143 or 130: a preempted job must not look like a finished one.
    """
    with job_scope(), quiet_console(bool(cfg.get("verbose", False))):
        return _train(cfg)


def _train(cfg: DictConfig) -> dict[str, float]:
    if cfg.get("seed") is not None:
        pl.seed_everything(cfg.seed, workers=True)
    datamodule = build(cfg.data)
    fit_model_to_data(cfg, datamodule)
    fit_schedule_to_budget(cfg)
    chosen = choose_precision(cfg)  # trainer.precision=auto: this machine's choice, said in the run's first line
    if chosen:
        print(chosen, flush=True)
    model: AutoEncoder = build(cfg.model)
    model.check_data(datamodule)
    check_yardstick_size(model.latent_dim, datamodule.shape)
    resume_run_id, checked_bytes = None, b""
    ckpt_path = str(expand_path(cfg.ckpt_path)) if cfg.get("ckpt_path") else None
    if ckpt_path:
        checkpoint, checked_bytes = read_checked(ckpt_path)
        check_same_model(checkpoint, model, ckpt_path)
        check_resume_overrides(checkpoint, cfg, ckpt_path)
        resume_run_id = checkpoint.get(WANDB_RUN_KEY)
        del checkpoint

    output_dir = Path(cfg.paths.output_dir)
    loggers = instantiate_loggers(cfg.get("logger"), wandb_resume_id=resume_run_id)
    callbacks = instantiate_callbacks(cfg.get("callbacks"))
    if not loggers:
        callbacks = [cb for cb in callbacks if not isinstance(cb, LearningRateMonitor)]
    if not any(isinstance(cb, PCABaseline) for cb in callbacks):
        callbacks.append(PCABaseline())  # the yardstick is part of every run
    if cfg.get("budget") is not None:  # seconds of training: the learning rate decays over them, then it stops
        callbacks.append(TimeBudget(cfg.budget))
    summary = {} if cfg.get("verbose", False) else {"enable_model_summary": False}
    if summary:
        callbacks = [cb for cb in callbacks if not isinstance(cb, ModelSummary)]
    resolved = OmegaConf.to_container(cfg, resolve=True)
    interrupt = InterruptCheckpoint(output_dir / "checkpoints")
    callbacks += [ConfigInCheckpoint(resolved), ResumeState(), interrupt]
    trainer: pl.Trainer = build(cfg.trainer, callbacks=callbacks, logger=loggers or False, **summary)
    for logger in trainer.loggers:
        logger.log_hyperparams(resolved)
    if ckpt_path and isinstance(trainer.strategy.checkpoint_io, DigestCheckpointIO):
        trainer.strategy.checkpoint_io.use_checked(ckpt_path, checked_bytes)  # resume from the bytes checked above

    try:
        start = validate_at_start(trainer, model, datamodule, output_dir, resumed_from=ckpt_path)
        _fit(trainer, model, datamodule, ckpt_path, output_dir)
        # the last validation metrics (what a sweeper optimises), then the test metrics of the selected checkpoint
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
        if cfg.get("test", True):
            best, selection = select(trainer, start)
            trainer.test(model, datamodule=datamodule, ckpt_path=best or None, verbose=not summary)
            metrics |= {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1} | selection
            if trainer.is_global_zero:  # the PCA yardstick is computed (and reported) by rank 0 only
                baseline = next(cb for cb in trainer.callbacks if isinstance(cb, PCABaseline))
                metrics |= baseline.metrics
                comparison = compare_with_pca(metrics, model.output_in_unit_range)
                metrics |= comparison
                for logger in trainer.loggers:  # the AE/PCA ratios beside the test metrics (W&B: the run's summary)
                    logger.log_metrics({k: v for k, v in comparison.items() if k.startswith("ae_over")})
                    logger.save()  # the CSV logger writes only on save; test() saved before these were logged
                metrics["model/parameters"] = sum(p.numel() for p in model.parameters())
                output_dir.mkdir(parents=True, exist_ok=True)
                write_text_atomic(output_dir / "results.json", json.dumps(metrics, indent=2, sort_keys=True))
                checkpoint = best or str(output_dir / "checkpoints" / "last.ckpt")  # the one tested
                interface, kept = cfg.get("interface", "train.py"), cfg.get("keep_run_folder", True)
                images = not isinstance(datamodule, TableDataModule)
                lines = summary_lines(metrics, model.name, output_dir, checkpoint, interface, kept, images)
                print("\n".join(lines), flush=True)
        return metrics
    except SystemExit:  # Lightning turns SIGTERM and Ctrl+C into SystemExit; say what happened and how to go on
        if interrupt.signal_name is None:
            raise
        if trainer.is_global_zero:
            epoch, step = trainer.current_epoch, trainer.global_step
            print(interrupted_message(interrupt.signal_name, interrupt.saved, epoch, step), file=sys.stderr, flush=True)
        raise SystemExit(EXIT_CODES[interrupt.signal_name]) from None
    finally:
        finish_wandb(trainer.loggers)


def fit_model_to_data(cfg: DictConfig, datamodule: pl.LightningDataModule) -> None:
    """A table (data=table) sets ``data.shape`` from its columns, and its values have any range: the dense decoder's
    sigmoid becomes identity. Nets that need images (conv, VAE) are refused with the models that take tables."""
    if not isinstance(datamodule, TableDataModule):
        return
    encoder, decoder = cfg.model.get("encoder") or {}, cfg.model.get("decoder") or {}
    if not str(encoder.get("_target_", "")).endswith("MLPEncoder") or "MLPDecoder" not in str(decoder.get("_target_")):
        raise ValueError(
            f"model={cfg.model.get('name')} is not a dense net, and data=table gives rows, not images: use "
            "model=deep_dense (with model.anchor=pca, its default), dense, linear or undercomplete"
        )
    with open_dict(cfg):
        cfg.data.shape = list(datamodule.shape)
        if decoder.get("output_activation") == "sigmoid":
            log.info("data=table: the decoder's output is linear (a sigmoid cannot reach values outside [0, 1])")
            cfg.model.decoder.output_activation = None


def fit_schedule_to_budget(cfg: DictConfig) -> None:
    """With ``budget`` (seconds) the budget ends training and sets the learning rate: no epoch limit, no epoch
    scheduler."""
    if cfg.get("budget") is None:
        return
    with open_dict(cfg):
        cfg.trainer.max_epochs = -1
        if cfg.model.get("scheduler"):
            log.info("budget=%s: the learning rate follows the budget, so model.scheduler is not used", cfg.budget)
            cfg.model.scheduler = None


def _fit(
    trainer: pl.Trainer, model: AutoEncoder, datamodule: pl.LightningDataModule, ckpt_path: str | None, output_dir: Path
) -> None:
    try:
        trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
    except NonFiniteLossError as err:
        saved = sorted(output_dir.glob("checkpoints/*.ckpt"))
        log.error("%s\nLast good checkpoints: %s", err, [str(p) for p in saved] or "none written yet")
        raise
    except NotWritableError as err:  # a full disk mid-run: say what was kept and how to go on once there is room
        saved = sorted(output_dir.glob("checkpoints/*.ckpt"), key=lambda p: p.stat().st_mtime)
        kept = f"Resume from the last whole checkpoint once there is room:\n  {resume_command(saved[-1])}" if saved \
            else "No checkpoint had been saved yet."  # fmt: skip
        raise NotWritableError(f"{err}\nTraining stopped at epoch {trainer.current_epoch}. {kept}") from err
