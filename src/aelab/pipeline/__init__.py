"""The two things the command-line scripts do: train(cfg) and evaluate(cfg)."""

from aelab.pipeline.evaluation import evaluate
from aelab.pipeline.training import train
from aelab.run_dirs import register_resolvers

register_resolvers()  # before Hydra composes train.py's config: conf/hydra/default.yaml names run folders with them

__all__ = ["evaluate", "train"]
