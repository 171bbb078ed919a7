#!/usr/bin/env bash
# Issue 14's GPU check: `train.py model=conv_deep data=intel` for 2 epochs on one GPU with bf16 + channels_last, as
# users run it (default callbacks, the PCA yardstick at fit start, logger=csv), on a generated Kaggle-layout tree of
# 14,034 train and 3,000 test JPEGs (the real data set's counts; aelab.data.synthetic's class-coloured 150x150
# scenes decoded to 128x128). Images/s: 14,034 x (1 - the validation share) / the epoch seconds in
# <run>/epoch_times.json (the second epoch; the first holds cuDNN's algorithm search). Extra arguments go to train.py
# (e.g. model.compile=true). Run from the repository root with hydra-core/omegaconf importable; the tree and the run
# folder default to outputs/benchmarks/gpu_conv_deep_train/:
#   TREE=/tmp/intel_tree RUN=/tmp/conv_deep_gpu bash benchmarks/gpu_conv_deep_train.sh
set -eu
TREE=${TREE:-outputs/benchmarks/gpu_conv_deep_train/intel_tree}
RUN=${RUN:-outputs/benchmarks/gpu_conv_deep_train/run}
export PYTHONPATH=$PWD/src:${PYTHONPATH:-}
python3 - "$TREE" <<'PY'  # one process per class and split (one process would take minutes)
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np
from aelab.data.synthetic import CLASSES, scene


def write(job):
    split, label, count = job
    folder = Path(sys.argv[1]) / split / split / CLASSES[label]
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([label, len(split)])
    for i in range(count):
        cv2.imwrite(str(folder / f"{i}.jpg"), scene(rng, label))


jobs = [(split, label, -(-n // len(CLASSES))) for split, n in (("seg_train", 14034), ("seg_test", 3000))
        for label in range(len(CLASSES))]
with ProcessPoolExecutor(len(jobs)) as pool:
    list(pool.map(write, jobs))
PY
python3 train.py model=conv_deep data=intel data.root="$TREE" trainer=gpu trainer.precision=bf16-mixed \
  model.channels_last=true trainer.max_epochs=2 logger=csv hydra.run.dir="$RUN" "$@"
