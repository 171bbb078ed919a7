"""The child of the kill-loop test: saves checkpoints to one path, over and over, until it is killed."""

import sys

import torch

from aelab.checkpoints import save_with_digest

path = sys.argv[1]
i = 0
while True:
    i += 1
    save_with_digest({"state_dict": {"w": torch.full((20_000,), float(i))}, "hyper_parameters": {}, "i": i}, path)
