"""The console's progress bar: Lightning's rich bar, whose epoch count reads "Epoch 4/-2" when a time budget
(``budget=``) leaves training without an epoch limit (``trainer.max_epochs=-1``); there it shows "Epoch 4"."""

from __future__ import annotations

from pytorch_lightning.callbacks import RichProgressBar


class ProgressBar(RichProgressBar):
    """``RichProgressBar`` with the "/last epoch" left out when there is no last epoch."""

    def _get_train_description(self, current_epoch: int) -> str:
        description = super()._get_train_description(current_epoch)
        limit = self.trainer.max_epochs
        if limit is not None and limit < 0:
            description = description.replace(f"Epoch {current_epoch}/{limit - 1}", f"Epoch {current_epoch}", 1)
        return description
