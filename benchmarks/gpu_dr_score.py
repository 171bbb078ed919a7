"""Scores of the GPU sweep (gpu_dr_sweep.sh): test MSE, 5-NN accuracy and trustworthiness of each checkpoint.

A quick screen, not the comparison itself (benchmarks/dr_compare.py): the 5-NN reference is the first 54,000 official
training images (not the run's own split), trustworthiness is on the first 2,000 test images, and the MSE is measured
after the reducer's uint8 round trip (inverse_transform answers in the form it was given: uint8).

    python benchmarks/gpu_dr_score.py /path/to/fashion-mnist run1/checkpoints/last.ckpt ...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

import aelab
from aelab.analysis.embedding_scores import code_trustworthiness, knn_accuracy
from aelab.data.idx import read_idx


def main() -> None:
    folder, checkpoints = Path(sys.argv[1]), sys.argv[2:]
    x_train = read_idx(folder / "train-images-idx3-ubyte.gz")[:54000]
    y_train = read_idx(folder / "train-labels-idx1-ubyte.gz")[:54000]
    x_test, y_test = read_idx(folder / "t10k-images-idx3-ubyte.gz"), read_idx(folder / "t10k-labels-idx1-ubyte.gz")
    flat_test = x_test.reshape(len(x_test), -1) / 255.0
    for ckpt in checkpoints:
        reducer = aelab.load(ckpt)
        z_train, z_test = reducer.transform(x_train), reducer.transform(x_test)
        recon = np.asarray(reducer.inverse_transform(z_test), dtype=np.float32).reshape(len(x_test), -1) / 255.0
        scores = {
            "ckpt": ckpt,
            "mse": float(((recon - flat_test) ** 2).mean()),
            "knn": knn_accuracy(z_train, y_train, z_test, y_test),
            "trust": code_trustworthiness(flat_test[:2000], z_test[:2000]),
        }
        print(json.dumps(scores), flush=True)


if __name__ == "__main__":
    main()
