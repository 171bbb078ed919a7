"""scikit-learn's own estimator checks (check_estimator) on AutoEncoderReducer: each check fits real tiny
autoencoders on the small tables sklearn makes up, in memory. All of them apply and pass; the one sklearn itself
skips is the array-API check, which runs only with SCIPY_ARRAY_API=1 set (the reducer takes numpy, pandas and torch)."""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from aelab import AutoEncoderReducer

QUICK = ["trainer.limit_train_batches=2", "trainer.limit_val_batches=1", "trainer.limit_test_batches=1",
         "trainer.num_sanity_val_steps=0", "trainer.accelerator=cpu", "callbacks.early_stopping=null"]  # fmt: skip


@parametrize_with_checks(
    [AutoEncoderReducer(model="dense", latent_dim=1, max_epochs=1, batch_size=8, overrides=QUICK, device="cpu")]
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
