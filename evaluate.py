"""Evaluate a checkpoint: python evaluate.py ckpt_path=outputs/train/runs/<run>/checkpoints/last.ckpt"""

import hydra
from omegaconf import DictConfig

from aelab.errors import user_errors
from aelab.pipeline import evaluate


@hydra.main(version_base="1.3", config_path="conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    with user_errors():
        evaluate(cfg)


if __name__ == "__main__":
    main()
