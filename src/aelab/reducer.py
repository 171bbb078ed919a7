"""The trained autoencoder as a dimensionality-reduction tool, with scikit-learn's conventions.

    import aelab
    reducer = aelab.AutoEncoderReducer(latent_dim=2).fit(table)     # any (n_samples, n_features) numbers
    codes = reducer.transform(table)             # (n, k) float32
    rows_back = reducer.inverse_transform(codes) # in the table's units
    reducer = aelab.load("outputs/train/runs/<run>/checkpoints/last.ckpt")

``fit`` trains through the same Lightning + Hydra path as train.py, in memory unless ``output_dir`` asks for a run
folder (checkpoints, logs and results.json), so it fits in a ``Pipeline`` or ``GridSearchCV``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from aelab.baselines.batching import in_batches, slices
from aelab.checkpoints import CONFIG_KEY, PREPROCESSING_KEY, load_model, stored_data_config
from aelab.data.forms import default_form, guess_shape, input_form, to_form
from aelab.data.preprocessing import (
    Preprocessing,
    codes_from_array,
    images_from_array,
    images_from_files,
    preprocessing_of,
)
from aelab.data.tables import TableScaling, table_values
from aelab.files import expand_path
from aelab.reducer_fit import (
    PREPROCESSING_FIELDS,
    class_folder_labels,
    fitted_pca,
    pca_of,
    run_folder,
    side_of_first_image,
    train_model,
)

MIN_SAMPLES = 5  # the fewest rows whose tenths still leave a validation and a test row
DEFAULT_MODELS = {"images": "conv_strided", "table": "deep_dense"}  # model="auto": both start at PCA (model.anchor)


class AutoEncoderReducer(TransformerMixin, BaseEstimator):
    """An autoencoder as a reducer: ``fit`` trains one, ``transform`` gives codes, ``inverse_transform`` the data.

    X: a table, any (n_samples, n_features) numbers (numpy, pandas, torch), scaled by ``scaling`` inside the model;
    or images: arrays shaped (N, H, W), (N, H, W, C) or (N, C, H, W), uint8 (0-255) or float in [0, 1], or a list
    of image file paths (decoded as training decodes files: OpenCV, RGB, resized with the recorded mode and
    interpolation; labels come from their class folders unless ``y`` is given). Once fitted on images, flat
    (N, C*H*W) rows of the trained size are images too. ``inverse_transform`` answers in the form of the last X
    given to ``fit`` or ``transform``: a table in its units, images as given (files: uint8 (N, H, W, C) RGB).

    Parameters are those of a train.py run: ``model`` (a conf/model option; "auto": conv_strided for images,
    deep_dense for tables, both starting at PCA), ``latent_dim``, ``max_epochs``, ``batch_size``, ``image_size``
    (files only: the side images are decoded to; None: the first image's shorter side, at most 128), ``scaling``
    (tables: "standard", "minmax" or "none", fitted on the training rows), ``time_budget`` (seconds of training: the
    learning rate decays over them and training stops there, in place of ``max_epochs``), ``seed``, ``overrides`` (further
    train.py overrides, e.g. ``["model/optimizer=adam"]``), ``output_dir`` (None: fit in memory and write nothing;
    a folder: keep each fit's run folder there), ``device`` ("auto": the GPU when there is one) and
    ``inference_batch_size`` (rows per forward pass in transform; memory is bounded by it).
    """

    def __init__(
        self,
        model: str = "auto",
        latent_dim: int | None = 32,
        max_epochs: int = 20,
        batch_size: int = 128,
        image_size: int | None = None,
        scaling: str = "standard",
        time_budget: float | None = None,
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
        self.scaling = scaling
        self.time_budget = time_budget
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
        train.py's pipeline; the best checkpoint becomes this reducer. ``y`` (any labels) only feeds the probes."""
        data, prep, form = self._training_data(X)
        if y is None and form["kind"] == "files":
            y = class_folder_labels(X)
        labels = None if y is None else np.unique(np.asarray(y), return_inverse=True)[1].astype(np.int64)
        if labels is not None and len(labels) != len(data):
            raise ValueError(f"y has {len(labels)} labels for {len(data)} samples of X; give one label per sample")
        if len(data) < MIN_SAMPLES:
            raise ValueError(f"X has {len(data)} sample(s); fitting needs at least {MIN_SAMPLES} (a seeded tenth each is "
                             "held out for validation and for the test)")  # fmt: skip
        if self.latent_dim is not None and self.latent_dim >= int(np.prod(prep.shape)):
            raise ValueError(
                f"latent_dim={self.latent_dim} is not below the {int(np.prod(prep.shape))} feature(s) of X: such a "
                "code copies rather than reduces. Choose a smaller latent_dim."
            )
        table = prep.is_table
        model = self.model if self.model != "auto" else DEFAULT_MODELS["table" if table else "images"]
        accelerator = "gpu" if self.device.startswith("cuda") else self.device
        preprocessing = {k: v for k, v in prep.as_dict().items() if k in PREPROCESSING_FIELDS}
        table_settings = {"data.scaling": self.scaling, "data.column_names": prep.table["columns"]} if table else {}
        settings = {
            "model": model,
            "data": "table" if table else "array",
            **(table_settings or {"data.shape": list(prep.shape), "data.preprocessing": preprocessing}),
            "data.batch_size": self.batch_size,
            "trainer.max_epochs": self.max_epochs,
            "budget": self.time_budget,
            "trainer.enable_progress_bar": False,
            "interface": "reducer",
            "seed": self.seed,
            "paths.root_dir": str(Path.cwd()),
            **({"model.latent_dim": self.latent_dim} if self.latent_dim is not None else {}),
            **({"trainer.accelerator": accelerator} if self.device != "auto" else {}),
        }
        run_dir = run_folder(expand_path(self.output_dir)) if self.output_dir else None
        net, checkpoint, ckpt = train_model(data, labels, settings, list(self.overrides), run_dir)
        prep = preprocessing_of(checkpoint.get(PREPROCESSING_KEY), stored_data_config(checkpoint))
        self._set_fitted(net, prep, ckpt)
        self.input_form_ = form
        self.pca_ = fitted_pca(torch.cat(list(self._batches(X))) if prep.is_table else torch.from_numpy(data),
                               self.latent_dim_)  # fmt: skip
        return self

    def _training_data(self, X: Any) -> tuple[np.ndarray, Preprocessing, dict[str, Any]]:
        """What the data module reads (uint8 images (N, C, H, W), or the table as float64) and how X was given."""
        form = input_form(X, tables=True)
        if form["kind"] == "table":
            values, columns = table_values(X)
            return values, Preprocessing((1, 1, values.shape[1]), "table", table={"columns": columns}), form
        if form["kind"] == "files":
            size = self.image_size or side_of_first_image(X)
            prep = Preprocessing((3, size, size), "files")
            images, _, skipped = images_from_files(list(X), prep)
            if skipped:
                raise ValueError(f"{len(skipped)} of {len(X)} files are not readable images, e.g. {skipped[:3]}")
            return images.numpy(), prep, form
        array = torch.as_tensor(np.asarray(X) if not isinstance(X, torch.Tensor) else X)
        shape = guess_shape(array)
        images = (images_from_array(array, Preprocessing(shape, "arrays")) * 255).round().to(torch.uint8)
        return images.numpy(), Preprocessing(shape, "arrays"), form

    def _set_fitted(self, net: torch.nn.Module, prep: Preprocessing, ckpt_path: Path | None) -> None:
        device = "cuda" if self.device == "auto" and torch.cuda.is_available() else self.device
        self.model_ = net.to("cpu" if device == "auto" else device).eval()
        self.preprocessing_ = prep
        self.scaling_ = TableScaling.from_dict(prep.table["scaling"]) if prep.is_table else None
        self.ckpt_path_ = None if ckpt_path is None else Path(ckpt_path)  # None: fitted in memory
        self.latent_dim_ = int(net.latent_dim)
        self.n_features_in_ = int(np.prod(prep.shape))

    # -- using it -----------------------------------------------------------------------------------------------
    def images(self, X: Any) -> torch.Tensor:
        """X as the model takes it: float images (N, C, H, W) in [0, 1], or scaled table rows (N, 1, 1, F)."""
        check_is_fitted(self, "model_")
        return torch.cat(list(self._batches(X))) if len(X) else torch.empty(0, *self.preprocessing_.shape)

    def _batches(self, X: Any) -> Iterator[torch.Tensor]:
        """X in float batches of ``inference_batch_size`` rows: memory stays bounded by the batch, not by X."""
        if self.scaling_ is not None:
            values, _ = table_values(X)
            if values.shape[1] != self.preprocessing_.shape[2]:
                raise ValueError(f"X has {values.shape[1]} features, but AutoEncoderReducer is expecting "
                                 f"{self.preprocessing_.shape[2]} features as input")  # fmt: skip
            for chunk in slices(values, self.inference_batch_size):
                yield (
                    self.scaling_.apply(torch.from_numpy(chunk)).float().reshape(len(chunk), *self.preprocessing_.shape)
                )
            return
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
        """The data decoded from codes (n, latent_dim), in the form of the X given to ``fit``: a table in its units
        (float64), images as given (a loaded reducer: uint8 (N, H, W, C) RGB when it was trained on files, float
        (N, C, H, W) otherwise)."""
        check_is_fitted(self, "model_")
        codes = codes_from_array(Z, self.latent_dim_)
        batches = slices(codes, self.inference_batch_size)
        out = in_batches(self.model_.decode, batches, self._device(), (0, *self.preprocessing_.shape))
        form = getattr(self, "input_form_", None) or default_form(self.preprocessing_)
        return self._in_units(out, form) if self.scaling_ is not None else to_form(out, form)

    def _in_units(self, rows: torch.Tensor, form: dict[str, Any]) -> Any:
        values = self.scaling_.inverse(rows.flatten(1).double())
        return values if form.get("torch") else values.numpy()

    def reconstruct(self, X: Any) -> torch.Tensor:
        """X encoded and decoded, as the model gives it: float images (N, C, H, W) in [0, 1], or scaled table rows."""
        check_is_fitted(self, "model_")
        return in_batches(self.model_, self._batches(X), self._device(), (0, *self.preprocessing_.shape))

    def score(self, X: Any, y: Any = None) -> float:
        """Minus the mean squared reconstruction error, a table's in its own units (higher is better, as
        GridSearchCV expects)."""
        return -self._mse(X, self.model_)

    def compare(self, X: Any) -> dict[str, float]:
        """The AE against PCA at the same k on X: both mean squared errors (a table's in its units), their ratio,
        and which PCA: clipped to [0, 1] for images, as the run's yardstick. PCA is the one fitted with the model
        (the anchored start's, or fitted on the data ``fit`` was given)."""
        check_is_fitted(self, "model_")
        pca = getattr(self, "pca_", None) or pca_of(self.model_)
        if pca is None:
            raise ValueError("this reducer holds no PCA (it was loaded from a checkpoint of a model that did not start "
                             "at PCA); refit it, or compare with sklearn.decomposition.PCA on your data yourself")  # fmt: skip
        clip = self.scaling_ is None
        ae, linear = self._mse(X, self.model_), self._mse(X, lambda x: pca.reconstruct(x).view_as(x), clip)
        name = f"{'clipped ' if clip else ''}PCA-{pca.components.shape[1]}"
        return {"ae_mse": ae, "pca_mse": linear, "ae_over_pca": ae / linear if linear > 0 else float("inf"),
                "pca": name}  # fmt: skip

    @torch.no_grad()
    def _mse(self, X: Any, fn: Any, clip: bool = False) -> float:
        check_is_fitted(self, "model_")
        total, count = 0.0, 0
        scale = torch.tensor(self.scaling_.scale) if self.scaling_ is not None else None
        for batch in self._batches(X):
            out = self._run(fn, batch).clamp(0, 1) if clip else self._run(fn, batch)
            error = (out - batch).flatten(1).double()
            total += float(((error * scale if scale is not None else error) ** 2).sum())
            count += error.numel()
        return total / max(count, 1)

    def _device(self) -> torch.device:
        return next(self.model_.parameters()).device

    def _run(self, fn: Any, batch: torch.Tensor) -> torch.Tensor:
        device = self._device() if isinstance(fn, torch.nn.Module) else "cpu"
        return fn(batch.to(device)).float().cpu()

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
        "scaling": prep.table["scaling"]["kind"] if prep.is_table else "standard",
        "time_budget": config.get("budget"),
        "seed": config.get("seed", 42),
    }


def load(ckpt_path: str | Path, device: str = "auto") -> AutoEncoderReducer:
    """``aelab.load``: a fitted AutoEncoderReducer from a checkpoint train.py wrote."""
    return AutoEncoderReducer.from_checkpoint(ckpt_path, device=device)
