"""aelab.load and AutoEncoderReducer: the same codes as the data modules, scikit-learn conventions, clear refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

import aelab
from aelab.checkpoints import load_model
from aelab.data.mnist import MNISTDataModule, load_embedded_sample
from aelab.data.tensor_data import to_unit_float
from aelab.errors import CheckpointError, ShapeMismatchError

QUICK = ["trainer.limit_train_batches=4", "trainer.limit_val_batches=1", "trainer.limit_test_batches=1",
         "trainer.num_sanity_val_steps=0", "callbacks.pca_baseline.max_fit_samples=300",
         "callbacks.pca_baseline.probe_train_samples=200", "callbacks.reconstructions=null",
         "callbacks.latent_averages=null", "trainer.accelerator=cpu"]  # fmt: skip


@pytest.fixture(scope="module")
def mnist_test_images() -> torch.Tensor:
    datamodule = MNISTDataModule(source="sample", download=False)
    datamodule.setup("test")
    return datamodule.splits["test"].take()[0][:64]  # uint8 (64, 1, 28, 28), as the data module serves them


def test_codes_via_the_api_equal_the_data_modules_codes_for_mnist_arrays(trained_run, mnist_test_images):
    ckpt = trained_run / "checkpoints" / "last.ckpt"
    reducer = aelab.load(ckpt, device="cpu")
    model, _ = load_model(ckpt)
    with torch.no_grad():
        expected = model.eval().encode(to_unit_float(mnist_test_images)).numpy()
    images = mnist_test_images.numpy()
    for form in (images, images[:, 0], images[:, 0, :, :, None], images.reshape(64, -1), images / np.float32(255)):
        codes = reducer.transform(form)
        assert codes.dtype == np.float32 and codes.shape == (64, 20)
        np.testing.assert_allclose(codes, expected, atol=1e-6)


def test_transform_and_score_change_no_state_and_inverse_transform_answers_as_loaded(trained_run, mnist_test_images):
    reducer = aelab.load(trained_run / "checkpoints" / "last.ckpt", device="cpu")
    grey = mnist_test_images.numpy()[:, 0]  # (N, 28, 28) uint8
    floats = torch.from_numpy(grey).float() / 255
    codes = reducer.transform(floats)
    state = dict(vars(reducer))
    reducer.transform(grey), reducer.score(grey), reducer.reconstruct(grey[:, :, :, None])
    assert vars(reducer) == state, "transform, score and reconstruct must leave the fitted reducer as it was"
    back = reducer.inverse_transform(codes)  # trained on arrays: float (N, C, H, W), whatever came last
    assert isinstance(back, np.ndarray) and back.shape == (64, 1, 28, 28) and back.dtype == np.float32
    assert reducer.score(grey) == pytest.approx(-float(((reducer.reconstruct(grey) - floats[:, None]) ** 2).mean()))


@pytest.mark.parametrize(
    ("images", "error", "message"),
    [
        (np.full((2, 28, 28), 200.0, np.float32), ValueError, "look like 0-255 values: divide by 255"),
        (np.zeros((2, 30, 30), np.float32), ValueError, "trained on 28x28 images; these are 30x30"),
        (np.zeros((2, 28, 28, 3), np.uint8), ValueError, "no axis of 1 channels"),
        (np.zeros((2, 500), np.uint8), ValueError, "flat images need 784 values"),
        (np.zeros((2, 28, 28), np.int64), TypeError, "uint8 .0-255. or float in \\[0, 1\\]"),
        ("one_image.png", TypeError, "pass a list of image files"),
    ],
    ids=["0-255 floats", "float of another size", "colour for a grey model", "flat of wrong length", "int64", "a str"],
)
def test_bad_input_is_refused_with_the_expected_form(trained_run, images, error, message):
    reducer = aelab.load(trained_run / "checkpoints" / "last.ckpt", device="cpu")
    with pytest.raises(error, match=message):
        reducer.transform(images)


def test_uint8_images_of_another_size_are_resized_as_training_resized_files(trained_run):
    reducer = aelab.load(trained_run / "checkpoints" / "last.ckpt", device="cpu")
    assert reducer.transform(np.zeros((3, 56, 56), np.uint8)).shape == (3, 20)


def test_codes_of_the_wrong_size_are_refused(trained_run):
    reducer = aelab.load(trained_run / "checkpoints" / "last.ckpt", device="cpu")
    with pytest.raises(ShapeMismatchError, match=r"codes must be \(n, 20\)"):
        reducer.inverse_transform(np.zeros((2, 5)))


def test_a_checkpoint_that_is_not_aelabs_is_refused(tmp_path):
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(3)}}, foreign)
    with pytest.raises(CheckpointError, match="not a Lightning checkpoint of an aelab model"):
        aelab.load(foreign)


def test_a_reducer_in_a_pipeline_and_a_grid_search_over_latent_dim(tmp_path):
    images, labels = load_embedded_sample()
    order = np.random.default_rng(0).permutation(len(images))[:600]  # the sample is sorted by digit
    x, y = images[order, 0], labels[order]  # (600, 28, 28) uint8 digits
    reducer = aelab.AutoEncoderReducer(latent_dim=8, max_epochs=1, output_dir=str(tmp_path), overrides=QUICK)
    assert clone(reducer).get_params()["latent_dim"] == 8
    pipe = Pipeline([("ae", clone(reducer).set_params(max_epochs=8)), ("clf", LogisticRegression(max_iter=300))])
    pipe.fit(x[:500], y[:500])
    assert 0.2 < pipe.score(x[500:], y[500:]) <= 1.0  # ten classes: chance is 0.1
    search = GridSearchCV(clone(reducer), {"latent_dim": [4, 8]}, cv=2, error_score="raise").fit(x[:400])
    assert search.best_params_["latent_dim"] in (4, 8)
    assert search.best_estimator_.transform(x[:3]).shape == (3, search.best_params_["latent_dim"])
    assert len(list(tmp_path.iterdir())) == 1 + 4 + 1  # each fit its own run folder: pipeline, 2x2 folds, refit


def test_fit_takes_files_and_an_output_folder_whose_paths_hold_a_space_and_a_quote(tmp_path):
    import cv2

    from aelab.checkpoints import CONFIG_KEY, load_checkpoint

    folder = tmp_path / "my photos" / 'it\'s "here"'
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    files = []
    for i in range(40):
        files.append(str(folder / f"img {i}.png"))
        cv2.imwrite(files[-1], rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))
    out = tmp_path / "runs 'quoted' \"too\""
    reducer = aelab.AutoEncoderReducer(latent_dim=4, max_epochs=1, image_size=16, output_dir=str(out), overrides=QUICK)
    reducer.fit(files)
    assert reducer.transform(files[:3]).shape == (3, 4)
    assert reducer.ckpt_path_.is_relative_to(out)
    stored = load_checkpoint(reducer.ckpt_path_)[CONFIG_KEY]
    assert stored["data"]["path"].startswith(str(out)) and stored["paths"]["output_dir"].startswith(str(out))
    assert stored["data"]["shape"] == [3, 16, 16]


def test_a_loaded_reducer_describes_its_model_so_clone_refits_the_same_thing(tmp_path):
    from aelab.checkpoints import CONFIG_KEY, load_checkpoint

    images = np.array(load_embedded_sample()[0][:300, 0])
    fitted = aelab.AutoEncoderReducer(model="dense", latent_dim=6, max_epochs=2, batch_size=64, seed=7,
                                      output_dir=str(tmp_path / "a"), overrides=QUICK).fit(images)  # fmt: skip
    loaded = aelab.load(fitted.ckpt_path_, device="cpu")
    params = loaded.get_params()
    assert {k: params[k] for k in ("model", "latent_dim", "max_epochs", "batch_size", "seed")} == {
        "model": "dense", "latent_dim": 6, "max_epochs": 2, "batch_size": 64, "seed": 7}  # fmt: skip
    again = clone(loaded).set_params(output_dir=str(tmp_path / "b"), overrides=QUICK).fit(images)
    stored = load_checkpoint(again.ckpt_path_)[CONFIG_KEY]
    assert stored["trainer"]["max_epochs"] == 2 and stored["data"]["batch_size"] == 64 and again.latent_dim_ == 6
