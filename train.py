"""Train an autoencoder: python train.py model=conv data=fashion_mnist (see --help for the config groups)."""

import hydra
from omegaconf import DictConfig

from aelab.errors import user_errors
from aelab.pipeline import train


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Returns ``optimized_metric`` so Hydra sweepers (Optuna) can minimise it."""
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


if __name__ == "__main__":
    main()
