"""Kill a process that saves checkpoints, again and again, and check every file a kill leaves behind.

    python -m benchmarks.kill_loop --kills 300

A forked child saves a checkpoint of a real trained size to one path in a loop (``save_with_digest``, what every
train.py checkpoint goes through); the parent SIGKILLs it after a random delay, then loads what is on disk the way
evaluate.py and resuming do. A whole checkpoint must never be refused, and nothing but a whole one may be there.
Writes the counts and the machine to ``--results`` (committed: benchmarks/results/kill_loop.json).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import tempfile
import time
from pathlib import Path

import torch

from aelab.checkpoints import digest_path, file_sha256, save_with_digest, verify_checkpoint_file
from aelab.errors import CheckpointError
from benchmarks.common import ROOT, machine, write_record


def recorded(digest: Path) -> str | None:
    return digest.read_text().split()[0] if digest.exists() and digest.read_text().strip() else None


def saving_child(path: Path, values: int) -> None:
    torch.set_num_threads(1)
    i = 0
    while True:
        i += 1
        save_with_digest({"state_dict": {"w": torch.full((values,), float(i))}, "hyper_parameters": {}, "i": i}, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=300)
    parser.add_argument("--values", type=int, default=1_000_000, help="floats in the checkpoint (4 MB by default)")
    parser.add_argument("--max-delay", type=float, default=0.3, help="seconds the child saves before each kill")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "kill_loop.json")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    counts = {"kills": 0, "refused": 0, "missing": 0, "loaded": 0, "matched_only_the_pending_digest": 0}
    refused: list[str] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "last.ckpt"
        for _ in range(args.kills):
            child = os.fork()
            if child == 0:
                try:
                    saving_child(path, args.values)
                finally:
                    os._exit(0)
            time.sleep(rng.uniform(0.0, args.max_delay))
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            counts["kills"] += 1
            if not path.exists():
                counts["missing"] += 1
                continue
            try:
                verify_checkpoint_file(path)
                torch.load(path, weights_only=True)
                counts["loaded"] += 1
                counts["matched_only_the_pending_digest"] += recorded(digest_path(path)) != file_sha256(path)
            except CheckpointError as err:
                counts["refused"] += 1
                refused.append(str(err)[:200])
    record = {
        "command": f"python -m benchmarks.kill_loop --kills {args.kills} --values {args.values}",
        "machine": machine(),
        "seconds": round(time.perf_counter() - start, 1),
        **counts,
        "refused_examples": refused[:5],
    }
    write_record(args.results, record)
    print(json.dumps(record, indent=2))
    if counts["refused"]:
        raise SystemExit(f"{counts['refused']} whole checkpoints refused")


if __name__ == "__main__":
    main()
