"""The default run as `make train` starts it: train.py with no arguments, timed, and the lines it ends with.

    python -m benchmarks.default_run

Writes the AE-vs-PCA figures of results.json, the wall time and the machine to ``--results`` (committed:
benchmarks/results/default_run.json), so the numbers the README quotes can be audited.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from benchmarks.common import ROOT, add_paths, machine, run_train, write_record

KEYS = (
    "test/mse",
    "pca/test_mse",
    "pca/test_mse_clipped",
    "ae_over_pca_test_mse",
    "ae_over_pca_classic_test_mse",
    "probe/test_acc",
    "pca/probe_test_acc",
    "pca/k",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_paths(parser, "default_run")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "default_run.json")
    args = parser.parse_args()

    run_dir = args.out / time.strftime("%Y-%m-%d_%H-%M-%S") / "default_run"  # a fresh folder, as train.py makes
    m, seconds = run_train([], run_dir)
    output = (run_dir / "stdout.log").read_text().splitlines()
    first = next(i for i, ln in enumerate(output) if ln.startswith("AE test MSE"))
    record = {
        "command": "python train.py",
        "machine": machine(),
        "seconds": seconds,
        "last lines": output[first : first + 4],
        **{key: m[key] for key in KEYS},
    }
    write_record(args.results, record)
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
