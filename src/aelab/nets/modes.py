"""Running a net to look at it (a shape probe, a logged panel, a probe's codes): evaluation mode without gradients,
then the mode it was in, so a look in the middle of training changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def eval_mode(module: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Evaluation mode without gradients inside the block, then the module's previous mode again."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            yield module
    finally:
        module.train(was_training)
