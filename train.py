"""Train an autoencoder: python train.py model=conv data=fashion_mnist (see --help for the config groups)."""

import hydra
from omegaconf import DictConfig

from aelab.pipeline import train


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    metrics = train(cfg)
    optimized = cfg.get("optimized_metric")
    return metrics.get(optimized) if optimized else None


if __name__ == "__main__":
    main()
