"""The Hydra apps train.py and evaluate.py run, also installed as the console commands ``aelab-train`` and
``aelab-evaluate`` (beside ``aelab-encode``, ``aelab-decode`` and ``aelab-export``). Their configs ship inside the
package (aelab/conf), so an installed aelab works from any folder; any Hydra override passes through."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from aelab.errors import user_errors
from aelab.run_dirs import register_resolvers

register_resolvers()  # conf/hydra/default.yaml names run folders with ${run_suffix:}; the pipeline (torch, Lightning)
# is imported only when a run starts, so --help and --cfg answer at once


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def train_main(cfg: DictConfig) -> float | None:
    """Train an autoencoder (see --help for the config groups). Returns ``optimized_metric`` so Hydra sweepers
    (Optuna) can minimise it."""
    from aelab.pipeline import train

    with user_errors():
        metrics = train(cfg)
    optimized = cfg.get("optimized_metric")
    if not optimized:
        return None
    if optimized not in metrics:
        raise KeyError(
            f"optimized_metric={optimized} was not measured by this run; choose one of {sorted(metrics)} "
            "(test/* metrics need test=true)"
        )
    return metrics[optimized]


@hydra.main(version_base="1.3", config_path="conf", config_name="evaluate")
def evaluate_main(cfg: DictConfig) -> None:
    """Evaluate a checkpoint: its test metrics, the PCA comparison and the report."""
    from aelab.pipeline import evaluate

    with user_errors():
        evaluate(cfg)
