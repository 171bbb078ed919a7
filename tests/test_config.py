"""Every config group option composes, instantiates, and the CLI explains itself."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hydra.errors import MissingConfigException

from aelab.build import build
from aelab.pipeline.hardware import choose_precision
from aelab.pipeline.loggers import instantiate_callbacks, instantiate_loggers
from tests.conftest import CONF_DIR, ROOT


def options(group: str) -> list[str]:
    # base files (_autoencoder.yaml, _images.yaml, _pca.yaml) hold what a group's options share; they are no option
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml") if not p.stem.startswith("_"))


@pytest.mark.parametrize("model", options("model"))
def test_every_model_option_builds(make_config, model):
    data = "intel" if model == "conv_deep" else "mnist"  # the deep conv net takes 3-channel images of 16n pixels
    cfg = make_config(f"model={model}", f"data={data}")
    net = build(cfg.model)
    assert net.input_shape == tuple(cfg.data.shape)
    assert net.latent_dim > 0


@pytest.mark.parametrize("optimizer", options("model/optimizer"))
def test_every_optimizer_option_builds(make_config, optimizer):
    cfg = make_config(f"model/optimizer={optimizer}")
    model = build(cfg.model)
    assert type(model.configure_optimizers()).__name__.lower() == optimizer


@pytest.mark.parametrize("data", options("data"))
def test_every_data_option_builds(make_config, data, tmp_path):
    extra = [f"data.root={tmp_path}"] if data == "image_folder" else []
    if data == "array":
        np.save(tmp_path / "images.npy", np.zeros((4, 1, 28, 28), np.uint8))
        extra = [f"data.path={tmp_path / 'images.npy'}", "data.shape=[1,28,28]"]
    if data == "table":
        np.save(tmp_path / "rows.npy", np.random.default_rng(0).normal(size=(20, 7)))
        extra = [f"data.path={tmp_path / 'rows.npy'}"]
    dm = build(make_config(f"data={data}", *extra).data)
    assert dm.name == data
    expected = {"array": (1, 28, 28), "table": (1, 1, 7)}.get(data, (1, 28, 28) if "mnist" in data else (3, 128, 128))
    assert dm.shape == expected


def test_image_size_reaches_the_model_through_data_shape(make_config):
    cfg = make_config("data=intel", "data.image_size=64", "model=conv_deep")
    assert list(cfg.model.input_shape) == [3, 64, 64]
    assert build(cfg.model).input_shape == (3, 64, 64)


@pytest.mark.parametrize("logger", options("logger"))
def test_every_logger_option_builds(make_config, logger):
    loggers = instantiate_loggers(make_config(f"logger={logger}").get("logger"))
    expected = {"wandb": 1, "csv": 1, "tensorboard": 1, "many": 3, "none": 0}[logger]
    assert len(loggers) == expected


@pytest.mark.parametrize("callbacks", options("callbacks"))
def test_every_callbacks_option_builds(make_config, callbacks):
    built = instantiate_callbacks(make_config(f"callbacks={callbacks}", fast=False).get("callbacks"))
    assert len(built) == {"default": 12, "minimal": 6, "none": 0}[callbacks]


@pytest.mark.parametrize("experiment", options("experiment"))
def test_every_experiment_option_composes(make_config, experiment):
    cfg = make_config(f"experiment={experiment}", fast=False)
    assert cfg.trainer.max_epochs >= 10  # each preset sets its own training length
    assert build(cfg.model).input_shape == tuple(cfg.data.shape)


@pytest.mark.parametrize("trainer", options("trainer"))
def test_every_trainer_option_builds(make_config, trainer):
    cfg = make_config(f"trainer={trainer}", fast=False)
    expected_accelerator = {"gpu": "gpu", "cpu": "cpu"}.get(trainer, "auto")
    assert cfg.trainer.accelerator == expected_accelerator
    # this machine may have no GPU: build the same Trainer on the CPU, its precision=auto chosen as train.py does
    on_cpu = make_config(f"trainer={trainer}", "trainer.accelerator=cpu", fast=False)
    assert choose_precision(on_cpu) and on_cpu.trainer.precision in ("32-true", "bf16-mixed")
    built = build(on_cpu.trainer, logger=False)
    assert built.max_epochs == cfg.trainer.max_epochs
    if trainer == "ddp":
        assert type(built.strategy).__name__ == "DDPStrategy"


@pytest.mark.parametrize("precision", ["bf16-mixed", "16-mixed", "32-true"])
def test_precision_options_compose(make_config, precision):
    cfg = make_config("trainer=gpu", f"trainer.precision={precision}", "model.channels_last=true", "model.compile=true")
    assert cfg.trainer.precision == precision and cfg.model.channels_last and cfg.model.compile


def test_experiment_keeps_data_choice_from_command_line(make_config):
    cfg = make_config("experiment=seed_dense_mnist", "data=fashion_mnist", fast=False)
    assert cfg.data.name == "fashion_mnist" and cfg.model.name == "dense"


def test_debug_fast_runs_one_batch(make_config):
    assert make_config("debug=fast", fast=False).trainer.fast_dev_run is True


def test_evaluate_config_composes(make_config):
    cfg = make_config("ckpt_path=x.ckpt", name="evaluate")
    assert cfg.ckpt_path == "x.ckpt"
    assert dict(cfg.data) == {"root": None, "data_dir": None, "cache_dir": None}  # the checkpoint's data, as recorded


def test_unknown_model_lists_the_options(make_config):
    with pytest.raises(MissingConfigException) as err:
        make_config("model=nope")
    for option in ("dense", "conv", "conv_deep", "linear", "undercomplete"):
        assert option in str(err.value)


def test_unknown_data_lists_the_options(make_config):
    with pytest.raises(MissingConfigException) as err:
        make_config("data=cifar")
    assert "mnist" in str(err.value) and "fashion_mnist" in str(err.value)


def test_help_lists_groups_and_options():
    out = subprocess.run(
        [sys.executable, "train.py", "--help"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    for line in ("model: ", "data: ", "trainer: ", "logger: ", "callbacks: ", "experiment: ", "debug: "):
        assert line in out
    assert "undercomplete" in out and "fashion_mnist" in out and "seed_dense_mnist" in out


def test_slurm_launcher_config_composes(tmp_path):
    from hydra import compose, initialize_config_dir

    from tests.conftest import CONF_DIR

    overrides = [f"paths.root_dir={tmp_path}", "hydra/launcher=submitit_slurm", "hydra.launcher.tasks_per_node=4"]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("submitit_launcher.SlurmLauncher")
    assert launcher.tasks_per_node == 4 and launcher.timeout_min == 240
    plugin = pytest.importorskip("hydra_plugins.hydra_submitit_launcher.config")
    import dataclasses

    known = {f.name for f in dataclasses.fields(plugin.SlurmQueueConf)}
    assert set(launcher) <= known, set(launcher) - known  # every key is one the plugin accepts


def test_evaluate_composes_with_every_logger(make_config):
    for logger in ("wandb", "csv", "tensorboard", "many"):
        loggers = instantiate_loggers(make_config("ckpt_path=x.ckpt", f"logger={logger}", name="evaluate").logger)
        assert loggers


def test_experiments_name_their_wandb_group(make_config):
    cfg = make_config("experiment=seed_conv_deep_intel", "logger=wandb", fast=False)
    assert cfg.logger.wandb.group == "seed_conv_deep_intel" and cfg.data.name == "intel"
