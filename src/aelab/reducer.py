"""The trained autoencoder as a dimensionality-reduction tool, with scikit-learn's conventions.

    import aelab
    reducer = aelab.load("outputs/train/runs/<run>/checkpoints/last.ckpt")
    codes = reducer.transform(images)            # (n, k) float32
    images_back = reducer.inverse_transform(codes)

``AutoEncoderReducer(model="conv_strided", latent_dim=32).fit(X)`` trains through the same Lightning + Hydra path as
train.py (a run folder with checkpoints, logs and results.json), so it fits in a ``Pipeline`` or ``GridSearchCV``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from aelab.baselines.batching import in_batches, slices
from aelab.checkpoints import CONFIG_KEY, PREPROCESSING_KEY, load_model, stored_data_config
from aelab.data.decode import UnreadableImage, read_image
from aelab.data.forms import default_form, guess_shape, input_form, to_form
from aelab.data.preprocessing import (
    Preprocessing,
    codes_from_array,
    images_from_array,
    images_from_files,
    preprocessing_of,
)
from aelab.files import expand_path

CONF_DIR = Path(__file__).resolve().parent / "conf"  # shipped inside the package
PREPROCESSING_FIELDS = ("shape", "source", "resize", "interpolation")


class AutoEncoderReducer(TransformerMixin, BaseEstimator):
    """An autoencoder as a reducer: ``fit`` trains one, ``transform`` gives codes, ``inverse_transform`` images.

    X: image arrays (numpy or torch) shaped (N, H, W), (N, H, W, C), (N, C, H, W) or flat (N, C*H*W), uint8 (0-255)
    or float in [0, 1]; or a list of image file paths (decoded as training decodes files: OpenCV, RGB, resized with
    the recorded mode and interpolation). Float images must be in [0, 1] and of the trained size; uint8 images and
    files of another size are resized as training resized them. ``inverse_transform`` returns images in the form of
    the last X given to ``fit`` or ``transform`` (files: uint8 (N, H, W, C) RGB).

    Parameters are those of a train.py run: ``model`` (a conf/model option), ``latent_dim``, ``max_epochs``,
    ``batch_size``, ``image_size`` (files only: the side images are decoded to; None: the first image's shorter
    side, at most 128; arrays train at their own size), ``seed``, ``overrides``
    (any further train.py overrides, e.g. ``["model/optimizer=adam"]``), ``output_dir`` (where each fit makes its
    run folder; None: outputs/reducer/runs), ``device`` ("auto": the GPU when there is one) and
    ``inference_batch_size`` (images per forward pass in transform; memory is bounded by it).
    """

    def __init__(
        self,
        model: str = "dense",
        latent_dim: int | None = 32,
        max_epochs: int = 20,
        batch_size: int = 128,
        image_size: int | None = None,
        seed: int | None = 42,
        overrides: Sequence[str] = (),
        output_dir: str | None = None,
        device: str = "auto",
        inference_batch_size: int = 512,
    ) -> None:
        self.model = model
        self.latent_dim = latent_dim
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.image_size = image_size
        self.seed = seed
        self.overrides = overrides
        self.output_dir = output_dir
        self.device = device
        self.inference_batch_size = inference_batch_size

    # -- loading and fitting ------------------------------------------------------------------------------------
    @classmethod
    def from_checkpoint(cls, ckpt_path: str | Path, device: str = "auto") -> AutoEncoderReducer:
        """A fitted reducer from a train.py checkpoint (verified, and built only from allowed classes)."""
        net, checkpoint = load_model(ckpt_path)
        prep = preprocessing_of(checkpoint.get(PREPROCESSING_KEY), stored_data_config(checkpoint))
        reducer = cls(**params_of(net, checkpoint.get(CONFIG_KEY) or {}, prep), device=device)
        reducer._set_fitted(net, prep, Path(ckpt_path))
        return reducer

    def fit(self, X: Any, y: Any = None) -> AutoEncoderReducer:
        """Train an autoencoder on X (a seeded tenth is held out for validation, another for the test) with
        train.py's pipeline; the best checkpoint becomes this reducer."""
        from hydra import compose, initialize_config_dir
        from hydra.core.global_hydra import GlobalHydra
        from omegaconf import OmegaConf, open_dict

        from aelab.data.arrays import data_module_path
        from aelab.pipeline import train

        images, prep, form = self._training_images(X)
        out = run_folder(expand_path(self.output_dir) if self.output_dir else Path("outputs") / "reducer" / "runs")
        images_path, labels_path = data_module_path(out)
        out.mkdir(parents=True, exist_ok=True)
        np.save(images_path, images.numpy())
        overrides = [f"model={self.model}", "data=array", "logger=csv", "callbacks.progress_bar=null",
                     "callbacks.model_summary=null", *([] if y is not None else ["callbacks.latent_probe=null"])]  # fmt: skip
        if y is not None:  # any labels (names too) become class indices; they only feed the probes
            np.save(labels_path, np.unique(np.asarray(y), return_inverse=True)[1].astype(np.int64))
        if GlobalHydra.instance().is_initialized():
            GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose(config_name="train", overrides=[*overrides, *self.overrides])
        # values are set on the composed config, not spliced into override strings: any path or name is safe
        accelerator = "gpu" if self.device.startswith("cuda") else self.device
        settings = {
            "data.path": str(images_path),
            "data.labels_path": str(labels_path) if y is not None else None,
            "data.shape": list(prep.shape),
            "data.preprocessing": {k: v for k, v in prep.as_dict().items() if k in PREPROCESSING_FIELDS},
            "data.batch_size": self.batch_size,
            "trainer.max_epochs": self.max_epochs,
            "trainer.enable_progress_bar": False,
            "interface": "reducer",
            "seed": self.seed,
            "paths.root_dir": str(Path.cwd()),
            "paths.output_dir": str(out),
            **({"model.latent_dim": self.latent_dim} if self.latent_dim is not None else {}),
            **({"trainer.accelerator": accelerator} if self.device != "auto" else {}),
        }
        yours = {o.split("=", 1)[0].lstrip("+~") for o in self.overrides}  # your overrides win
        with open_dict(cfg):
            for key, value in settings.items():
                if key not in yours:
                    OmegaConf.update(cfg, key, value, merge=False)
        train(cfg)
        best = sorted(p for p in (out / "checkpoints").glob("epoch*.ckpt")) or [out / "checkpoints" / "last.ckpt"]
        net, _ = load_model(best[-1])
        self._set_fitted(net, prep, best[-1])
        self.input_form_ = form
        return self

    def _training_images(self, X: Any) -> tuple[torch.Tensor, Preprocessing, dict[str, Any]]:
        form = input_form(X)
        if form["kind"] == "files":
            size = self.image_size or side_of_first_image(X)
            prep = Preprocessing((3, size, size), "files")
            images, _, skipped = images_from_files(list(X), prep)
            if skipped:
                raise ValueError(f"{len(skipped)} of {len(X)} files are not readable images, e.g. {skipped[:3]}")
            return images, prep, form
        array = torch.as_tensor(np.asarray(X) if not isinstance(X, torch.Tensor) else X)
        shape = guess_shape(array)
        images = (images_from_array(array, Preprocessing(shape, "arrays")) * 255).round().to(torch.uint8)
        return images, Preprocessing(shape, "arrays"), form

    def _set_fitted(self, net: torch.nn.Module, prep: Preprocessing, ckpt_path: Path) -> None:
        device = "cuda" if self.device == "auto" and torch.cuda.is_available() else self.device
        self.model_ = net.to("cpu" if device == "auto" else device).eval()
        self.preprocessing_ = prep
        self.ckpt_path_ = Path(ckpt_path)
        self.latent_dim_ = int(net.latent_dim)
        self.n_features_in_ = int(np.prod(prep.shape))

    # -- using it -----------------------------------------------------------------------------------------------
    def images(self, X: Any) -> torch.Tensor:
        """X as float images (N, C, H, W) in [0, 1], as the model takes them (see the class docstring)."""
        check_is_fitted(self, "model_")
        return torch.cat(list(self._batches(X))) if len(X) else torch.empty(0, *self.preprocessing_.shape)

    def _batches(self, X: Any) -> Iterator[torch.Tensor]:
        """X in float batches of ``inference_batch_size`` images: memory stays bounded by the batch, not by X."""
        files = input_form(X)["kind"] == "files"
        for start in range(0, len(X), self.inference_batch_size):
            chunk = X[start : start + self.inference_batch_size]
            if files:
                images, _, skipped = images_from_files(list(chunk), self.preprocessing_)
                if skipped:
                    raise ValueError(f"files that are not readable images: {skipped[:3]}; remove them "
                                     "(python -m aelab.encode skips and lists them)")  # fmt: skip
                yield images.float().div_(255.0)
            else:
                yield images_from_array(chunk, self.preprocessing_, first=start)

    def transform(self, X: Any) -> np.ndarray:
        """Codes (n, latent_dim) float32. Changes no state of the reducer."""
        check_is_fitted(self, "model_")
        codes = in_batches(self.model_.encode, self._batches(X), self._device(), (0, self.latent_dim_))
        return codes.numpy()

    def inverse_transform(self, Z: Any) -> Any:
        """Images decoded from codes (n, latent_dim), in the form of the X given to ``fit`` (a loaded reducer:
        uint8 (N, H, W, C) RGB when it was trained on files, float (N, C, H, W) otherwise)."""
        check_is_fitted(self, "model_")
        codes = codes_from_array(Z, self.latent_dim_)
        batches = slices(codes, self.inference_batch_size)
        images = in_batches(self.model_.decode, batches, self._device(), (0, *self.preprocessing_.shape))
        return to_form(images, getattr(self, "input_form_", None) or default_form(self.preprocessing_))

    def reconstruct(self, X: Any) -> torch.Tensor:
        """Float images (N, C, H, W) in [0, 1]: X encoded and decoded."""
        check_is_fitted(self, "model_")
        return in_batches(self.model_, self._batches(X), self._device(), (0, *self.preprocessing_.shape))

    @torch.no_grad()
    def score(self, X: Any, y: Any = None) -> float:
        """Minus the mean squared reconstruction error (higher is better, as GridSearchCV expects)."""
        check_is_fitted(self, "model_")
        total, count = 0.0, 0
        for batch in self._batches(X):
            total += float(((self._run(self.model_, batch) - batch) ** 2).sum())
            count += batch.numel()
        return -total / max(count, 1)

    def _device(self) -> torch.device:
        return next(self.model_.parameters()).device

    def _run(self, fn: Any, batch: torch.Tensor) -> torch.Tensor:
        return fn(batch.to(self._device())).float().cpu()

    def __sklearn_tags__(self):  # codes are not the input features: tell sklearn this transformer makes new ones
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags


def params_of(net: torch.nn.Module, config: dict[str, Any], prep: Preprocessing) -> dict[str, Any]:
    """The parameters that fit the model a checkpoint holds again: ``clone(aelab.load(ckpt))`` refits the same thing."""
    trainer, data = config.get("trainer") or {}, config.get("data") or {}
    return {
        "model": getattr(net, "name", "autoencoder"),
        "latent_dim": int(net.latent_dim),
        "max_epochs": int(trainer.get("max_epochs") or 20),
        "batch_size": int(data.get("batch_size") or 128),
        "image_size": prep.shape[1] if prep.source == "files" else None,
        "seed": config.get("seed", 42),
    }


def load(ckpt_path: str | Path, device: str = "auto") -> AutoEncoderReducer:
    """``aelab.load``: a fitted AutoEncoderReducer from a checkpoint train.py wrote."""
    return AutoEncoderReducer.from_checkpoint(ckpt_path, device=device)


def side_of_first_image(paths: Sequence[str | Path], cap: int = 128) -> int:
    """The shorter side of the first usable image (read with training's checks), at most ``cap``: the size files train
    at without image_size."""
    for path in paths:
        try:
            image = read_image(Path(path), cv2.IMREAD_UNCHANGED)
        except UnreadableImage:
            continue
        return max(8, min(cap, *image.shape[:2]))
    raise ValueError(f"none of the {len(paths)} files is a readable image")


def run_folder(parent: Path) -> Path:
    """A new folder for one fit, named like train.py's run folders (time and a random suffix)."""
    return parent / f"{time.strftime('%Y-%m-%d_%H-%M-%S')}_{secrets.token_hex(3)}"
