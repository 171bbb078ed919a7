"""evaluate.py with every baseline on the checkpoint of the default run (`make train`), timed.

    python -m benchmarks.default_run                 # first: train.py with no arguments, as `make train` runs it
    python -m benchmarks.evaluate_baselines          # then: evaluate.py ... report.baselines=[pca,kernel_pca,umap,tsne]

Runs evaluate.py as a user would on the default run's last checkpoint and records the wall time, the report's own
seconds per section and each method's row (from metrics.json) in ``--results`` (committed:
benchmarks/results/evaluate_baselines.json).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.common import ROOT, machine, run_script, write_record

BASELINES = "[pca,kernel_pca,umap,tsne]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=ROOT / "outputs" / "benchmarks" / "default_run",
                        help="the run folder of benchmarks.default_run (its --out)")  # fmt: skip
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "evaluate_baselines.json")
    args = parser.parse_args()

    ckpt = args.run / "checkpoints" / "last.ckpt"
    if not ckpt.is_file():
        sys.exit(f"{ckpt} is missing: run python -m benchmarks.default_run first")
    overrides = [f"ckpt_path={ckpt}", f"report.baselines={BASELINES}"]
    seconds = run_script("evaluate.py", overrides, args.run / "evaluate")
    metrics = json.loads((args.run / "report" / "metrics.json").read_text())
    rows: dict[str, dict[str, float]] = {}  # method -> its scores (NaN where a score does not apply)
    for key, value in metrics.items():
        if key.startswith("compare/"):
            _, method, score = key.split("/")
            rows.setdefault(method, {})[score] = value
    record = {
        "command": " ".join(["python evaluate.py", *overrides, f"hydra.run.dir={args.run}/evaluate"]),
        "machine": machine(),
        "seconds": seconds,
        "report_seconds": metrics.get("report/seconds"),
        "k": metrics.get("pca/k"),
        "rows": rows,
        "table": (args.run / "report" / "report.md").read_text().split("## Which reducer?")[1].split("![")[0],
    }
    write_record(args.results, record)
    print(f"evaluate.py with {BASELINES}: {seconds:.0f} s on {record['machine']}")
    print(record["table"])


if __name__ == "__main__":
    main()
