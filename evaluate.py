"""Evaluate a checkpoint: python evaluate.py ckpt_path=outputs/train/runs/<run>/checkpoints/last.ckpt

The same app is installed as the console command ``aelab-evaluate``."""

from aelab.apps import evaluate_main

if __name__ == "__main__":
    evaluate_main()
