"""Scores of the GPU sweep (gpu_dr_sweep.sh) on the validation split: MSE, 5-NN accuracy and trustworthiness of each
checkpoint, to choose settings by.

    python -m benchmarks.gpu_dr_score [--fashion-dir DIR] run1/checkpoints/last.ckpt ... > scores.jsonl

A quick screen, not the comparison itself (benchmarks/dr_compare.py). It scores on the 6,000 validation images
train.py validates on (data=fashion_mnist, ``data.seed`` 0), never on the test images, since its scores pick
presets: the 5-NN reference is the 54,000 training images of the same split, trustworthiness is on the first 2,000
validation images, and the MSE is measured after the reducer's uint8 round trip (inverse_transform answers in the
form it was given: uint8). One JSON line per checkpoint, with its provenance.

The committed presets (conv2_fashion*, conv64_fashion*) and the scores in benchmarks/results/gpu_dr_sweep/ were
picked by the older version of this script, which scored the official test images (the first 54,000 training
images as the 5-NN reference, the first 2,000 test images for trustworthiness): see this file's git history.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

import aelab
from aelab.analysis.embedding_scores import code_trustworthiness, knn_accuracy
from benchmarks.common import add_paths, fashion_datamodule, record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_paths(parser, fashion=True)
    parser.add_argument("checkpoints", nargs="+", help="last.ckpt of each run to score")
    args = parser.parse_args()
    datamodule = fashion_datamodule(args.fashion_dir)
    (x_train, y_train), (x_val, y_val) = (datamodule.splits[split].take() for split in ("train", "val"))
    x_train, y_train, x_val, y_val = (t.numpy() for t in (x_train, y_train, x_val, y_val))
    flat_val = x_val.reshape(len(x_val), -1) / 255.0
    for ckpt in args.checkpoints:
        reducer = aelab.load(ckpt)
        z_train, z_val = reducer.transform(x_train), reducer.transform(x_val)
        recon = np.asarray(reducer.inverse_transform(z_val), dtype=np.float32).reshape(len(x_val), -1) / 255.0
        scores = {
            "ckpt": ckpt,
            "split": "validation",
            "mse": float(((recon - flat_val) ** 2).mean()),
            "knn": knn_accuracy(z_train, y_train, z_val, y_val),
            "trust": code_trustworthiness(flat_val[:2000], z_val[:2000]),
        }
        print(json.dumps(record(scores)), flush=True)


if __name__ == "__main__":
    main()
