"""budget=<seconds>: the learning rate follows the budget, not the epochs, and the budget ends training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import pytorch_lightning as pl

from aelab.build import build
from aelab.callbacks.time_budget import TimeBudget
from aelab.checkpoints import CONFIG_KEY, load_checkpoint
from aelab.pipeline import train
from aelab.pipeline.hardware import choose_precision


def test_a_budget_replaces_the_epoch_limit_and_schedule_and_ends_with_the_learning_rate_at_zero(make_config):
    cfg = make_config("data.source=sample", "experiment=seed_dense_mnist", "budget=3", "trainer.limit_train_batches=2",
                      "callbacks.early_stopping=null", "trainer.accelerator=cpu")  # fmt: skip
    assert cfg.model.scheduler is not None  # the preset's epoch schedule, which the budget replaces
    metrics = train(cfg)
    run = Path(cfg.paths.output_dir)
    stored = load_checkpoint(run / "checkpoints" / "last.ckpt")
    assert stored[CONFIG_KEY]["trainer"]["max_epochs"] == -1 and stored[CONFIG_KEY]["model"]["scheduler"] is None
    # nothing but the budget can end a run without an epoch limit (and without early stopping), and it did
    lrs = stored["optimizer_states"][0]["param_groups"]
    base = stored[CONFIG_KEY]["model"]["optimizer"]["lr"]
    assert all(group["lr"] < 0.01 * base for group in lrs)  # decayed to (near) zero by the budget's end
    assert "test/mse" in metrics and json.loads((run / "results.json").read_text())["test/mse"] == metrics["test/mse"]


def test_the_schedule_warms_up_then_decays_over_the_budget():
    budget = TimeBudget(100, warmup=0.1)
    factors = [budget.factor(f) for f in (0.0, 0.05, 0.1, 0.55, 1.0)]
    assert factors[0] < factors[1] < factors[2] == pytest.approx(1.0)
    assert factors[3] == pytest.approx(0.5) and factors[4] == pytest.approx(0.0)


@pytest.mark.parametrize("seconds", [0, -5, "90", True])
def test_a_budget_that_is_not_a_positive_number_of_seconds_is_refused(seconds):
    with pytest.raises(ValueError, match="a training budget is a number of seconds above 0"):
        TimeBudget(seconds)


@pytest.mark.parametrize(
    ("flags", "precision", "nhwc"),
    [({"avx2", "amx_bf16", "avx512_bf16"}, "bf16-mixed", True), ({"avx2", "avx512f"}, "32-true", False)],
    ids=["a CPU with bf16 units", "a CPU without"],
)
def test_precision_auto_takes_bf16_only_where_the_cpu_has_bf16_units_and_says_so(make_config, flags, precision, nhwc):
    cfg = make_config("model=conv_strided", "model.anchor=null", "trainer.precision=auto", "trainer.accelerator=cpu")
    line = choose_precision(cfg, flags)
    assert cfg.trainer.precision == precision and cfg.model.channels_last is nhwc
    assert line.startswith(f"trainer.precision=auto: {precision}") and "trainer.precision=32-true" in line
    assert ("amx_bf16, avx512_bf16" in line) == nhwc
    by_hand = make_config("trainer.precision=32-true")
    assert choose_precision(by_hand, flags) is None and by_hand.trainer.precision == "32-true"


@pytest.mark.parametrize(
    ("overrides", "why"),
    [(["model=conv_strided"], "PCA-anchored"), (["model=dense"], "conv nets only")],
    ids=["an anchored conv net", "a dense net on a CPU"],
)
def test_precision_auto_keeps_fp32_for_anchored_nets_and_dense_nets_on_a_cpu_even_with_bf16_units(
    make_config, overrides, why
):
    cfg = make_config(*overrides, "trainer.precision=auto", "trainer.accelerator=cpu")
    line = choose_precision(cfg, {"amx_bf16", "avx512_bf16"})
    assert cfg.trainer.precision == "32-true" and cfg.model.channels_last is False and why in line


def test_precision_auto_is_the_default_and_the_run_says_what_it_chose(make_config, capsys):
    for trainer in ("default", "cpu", "gpu", "ddp"):
        assert make_config(f"trainer={trainer}", fast=False).trainer.precision == "auto"
    cfg = make_config("model=conv_strided", "trainer.precision=auto")  # the default model: anchored, fp32 on any CPU
    train(cfg)
    first = capsys.readouterr().out.strip().splitlines()[0]
    assert first.startswith("trainer.precision=auto: 32-true") and "PCA-anchored" in first


@pytest.mark.parametrize(("max_epochs", "shown"), [(-1, "Epoch 4"), (10, "Epoch 4/9")])
def test_the_progress_bar_counts_epochs_against_a_limit_only_when_there_is_one(make_config, max_epochs, shown):
    """A budget run has no epoch limit (max_epochs=-1): Lightning's bar would read "Epoch 4/-2"."""
    bar = build(make_config(fast=False).callbacks.progress_bar)
    bar._trainer = pl.Trainer(max_epochs=max_epochs, logger=False, enable_checkpointing=False, accelerator="cpu")
    assert bar._get_train_description(4).strip() == shown
