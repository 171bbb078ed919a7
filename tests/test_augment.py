"""data.augment: flips and shifts of training batches only, checked on tensors and in a real Trainer."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch

from aelab.build import build
from aelab.data.augment import BatchAugment, build_augment
from aelab.data.synthetic import make_intel_tree
from aelab.pipeline import train


def test_hflip_of_one_mirrors_every_image_and_off_builds_nothing():
    images = torch.randint(0, 256, (16, 3, 8, 8), dtype=torch.uint8)
    assert torch.equal(BatchAugment(hflip=1.0)(images), images.flip(-1))
    assert build_augment({"hflip": 0.0, "max_shift": 0}) is None and build_augment(None) is None


def test_shift_moves_content_by_at_most_max_shift_in_both_directions():
    images = torch.zeros(400, 1, 9, 9, dtype=torch.uint8)
    images[:, 0, 4, 4] = 255
    shifted = BatchAugment(max_shift=2)(images)
    assert shifted.dtype == torch.uint8 and shifted.shape == images.shape
    rows, cols = (shifted[:, 0] == 255).nonzero()[:, 1:].T
    assert len(rows) == 400  # the pixel stays inside, exactly once per image
    assert set(rows.tolist()) == set(range(2, 7)) and set(cols.tolist()) == set(range(2, 7))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"hflip": 1.5}, "hflip is a probability"),
        ({"max_shift": -1}, "max_shift is a whole number"),
        ({"max_shift": 1.5}, "max_shift is a whole number"),
        ({"flip": 0.5}, r"unknown option\(s\) \['flip'\]"),
    ],
)
def test_bad_augment_options_are_named(spec, message):
    with pytest.raises(ValueError, match=message):
        build_augment(spec)


def test_shift_as_large_as_the_image_is_refused():
    with pytest.raises(ValueError, match="not smaller than the 4x4 images"):
        BatchAugment(max_shift=4)(torch.zeros(2, 1, 4, 4, dtype=torch.uint8))


class BatchRecorder(pl.Callback):
    """Keeps the batches the model is given (after the device copy and the scaling to [0, 1])."""

    def __init__(self) -> None:
        self.train: list[torch.Tensor] = []
        self.val: list[torch.Tensor] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.train.append(batch[0].detach().clone())

    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0) -> None:
        self.val.append(batch[0].detach().clone())


def as_keys(images: torch.Tensor) -> set[bytes]:
    as_uint8 = images if images.dtype == torch.uint8 else (images * 255).round().to(torch.uint8)
    return {bytes(img.flatten().tolist()) for img in as_uint8}


def test_training_batches_are_flipped_and_validation_batches_are_not(make_config):
    cfg = make_config("data.source=sample", "data.augment.hflip=1.0", "data.batch_size=32")
    datamodule, model, recorder = build(cfg.data), build(cfg.model), BatchRecorder()
    trainer = pl.Trainer(
        accelerator="cpu",
        max_epochs=1,
        limit_train_batches=2,
        limit_val_batches=1,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[recorder],
    )
    trainer.fit(model, datamodule=datamodule)
    train_images = as_keys(datamodule.splits["train"].images)
    seen = torch.cat(recorder.train)
    assert len(seen) == 64
    assert as_keys(seen.flip(-1)) <= train_images  # every training image arrived mirrored...
    assert not as_keys(seen) & train_images  # ...and none as it is (digits are not symmetric)
    assert as_keys(torch.cat(recorder.val)) <= as_keys(datamodule.splits["val"].images)


def test_flips_and_shifts_train_a_dense_ae_on_128px_intel_scenes(make_config, tmp_path):
    root = make_intel_tree(tmp_path / "intel", per_class=3, test_per_class=2)
    cfg = make_config(
        "data=intel", f"data.root={root}", "data.batch_size=8", "data.augment.hflip=0.5", "data.augment.max_shift=8"
    )
    with pytest.warns(UserWarning, match="skipped 3"):
        metrics = train(cfg)
    assert metrics["test/mse"] > 0
