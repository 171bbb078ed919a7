"""The module's own optimizer steps, one batch or a group at a time, through Lightning's per-step hooks or around
them, train exactly as Lightning's automatic loop."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch

from aelab.build import build
from aelab.data.mnist import MNISTDataModule
from tests.conftest import write_idx_set

SCHEDULERS = {
    "epoch": ("epoch", {"_target_": "torch.optim.lr_scheduler.CosineAnnealingLR", "_partial_": True, "T_max": 3}),
    "step": ("step", {"_target_": "torch.optim.lr_scheduler.StepLR", "_partial_": True, "step_size": 7, "gamma": 0.5}),
    "plateau": (
        "epoch",
        {"_target_": "torch.optim.lr_scheduler.ReduceLROnPlateau", "_partial_": True, "mode": "max", "patience": 0},
    ),
}


class CountSteps(pl.Callback):
    """Listens to a per-step hook, which sends the module's steps through Lightning's hooks instead of around them."""

    def __init__(self) -> None:
        self.steps = 0

    def on_before_optimizer_step(self, trainer: pl.Trainer, module: pl.LightningModule, optimizer) -> None:
        self.steps += 1


def fit(make_config, data_dir, scheduler: str, group_batches: int, clip: float | None, listener=None):
    """3 epochs of the dense AE on 540 digits in batches of 32 (17 a epoch, the last one short)."""
    interval, spec = SCHEDULERS[scheduler]
    cfg = make_config("model=dense", f"model.scheduler_interval={interval}")
    cfg.model.scheduler = spec
    pl.seed_everything(0)
    model = build(cfg.model)
    data = MNISTDataModule(data_dir=str(data_dir), source="full", batch_size=32, group_batches=group_batches)
    lrs = []
    record = pl.callbacks.LambdaCallback(  # mode=max on a falling val/loss: the plateau lowers the rate every epoch
        on_train_epoch_start=lambda t, m: lrs.append(t.optimizers[0].param_groups[0]["lr"]),
        on_fit_end=lambda t, m: lrs.append(t.optimizers[0].param_groups[0]["lr"]),
    )
    trainer = pl.Trainer(
        accelerator="cpu", max_epochs=3, gradient_clip_val=clip, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
        callbacks=[record, *([listener] if listener else [])],
    )  # fmt: skip
    trainer.fit(model, datamodule=data)
    mode = "automatic" if model.automatic_optimization else ("plain" if model.__dict__["_plain_steps"] else "hooked")
    return model.state_dict(), lrs, trainer.num_training_batches, mode


@pytest.mark.parametrize("scheduler", sorted(SCHEDULERS))
def test_groups_and_single_batches_train_as_lightnings_automatic_loop(make_config, tmp_path, scheduler):
    data_dir = write_idx_set(tmp_path / "mnist", n_train=600, n_test=100)
    grouped, lrs_grouped, groups, mode_grouped = fit(make_config, data_dir, scheduler, group_batches=4, clip=None)
    single, lrs_single, batches, mode_single = fit(make_config, data_dir, scheduler, group_batches=1, clip=None)
    # clipping at a norm no gradient reaches changes nothing numerically but is Lightning's automatic loop's job
    lightning, lrs_lightning, lightning_batches, mode_lightning = fit(
        make_config, data_dir, scheduler, group_batches=4, clip=1e9
    )
    listener = CountSteps()
    hooked, lrs_hooked, _, hooked_mode = fit(
        make_config, data_dir, scheduler, group_batches=4, clip=None, listener=listener
    )
    assert listener.steps == 3 * 17  # every step passes the hook, in groups too
    assert (mode_grouped, mode_single, mode_lightning, hooked_mode) == ("plain", "plain", "automatic", "hooked")
    assert (groups, batches, lightning_batches) == (5, 17, 17)  # 17 batches in groups of 4: 4 full and 1 of one
    assert lrs_grouped == lrs_single == lrs_hooked == lrs_lightning and len(set(lrs_lightning)) > 1  # it moved
    for name, value in lightning.items():
        assert torch.equal(grouped[name], value), name
        assert torch.equal(single[name], value), name
        assert torch.equal(hooked[name], value), name


def test_group_batches_must_be_a_positive_count(tmp_path):
    with pytest.raises(ValueError, match="data.group_batches must be a whole number"):
        MNISTDataModule(data_dir=str(tmp_path), group_batches=0)
