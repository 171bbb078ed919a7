"""Intel scenes: the first epoch (decode every JPEG into the cache) vs a cached epoch (batches from the memory map).

    python -m benchmarks.intel_cache --images 2100 --rounds 5

Writes (once; reused while its size matches) a tree of real 150x150 JPEG scenes in the Kaggle layout
(seg_train/seg_train/<class>/, seg_test/seg_test/<class>/) under benchmarks/out/intel_tree with the helpers of
tests/image_trees.py. Each round then, each step in a fresh Python process (timed inside it, start-up excluded):
  (a) builds the cache from scratch: IntelDataModule(...).prepare_data() with a fresh cache_dir at
      data.image_size 128 and the default decode workers (min(8, CPU cores)): list, OpenCV decode, resize,
      write the uint8 memory map, for the train and the test split;
  (b) opens that cache with a second data module (setup("fit"): listing and stat of every file, no decoding) and
      runs --epochs cached epochs: the whole train_dataloader() (batch 32), each batch turned into float as the
      model does (x.float().div_(255)); alternating with epochs of the bare uint8 batches, for comparison.
Why a process per step: the cached epoch's speed depends on the state of the process's allocator. In some
processes glibc hands the ~6 MB float batch back to the OS after every batch and page-faults it in again (about
54,000 minor faults per epoch, 2.5x slower), in others it keeps it; so each round samples a new process, the
median over rounds is reported, and the page faults per cached epoch are shown.
The single-thread decode time per image is measured on a --single-subset of the train files (decode_workers=1).
The JPEGs were just written or read, so they sit in the OS page cache: (a) measures decoding, not a cold disk.
The ratio compares images per second, since the build decodes train + test and an epoch reads the train split.
Target: a cached epoch at least 20x faster per image than decoding. On a busy machine pass --threads 1: with other
processes on the cores, torch's 2-thread elementwise kernels (the float conversion) stall for milliseconds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tests.image_trees import CLASSES, write_split

from aelab.data.folders import IntelDataModule, list_labelled
from aelab.data.image_cache import load_or_build
from benchmarks.common import ROOT, machine

OUT = ROOT / "benchmarks" / "out"
DEFAULT_TREE = OUT / "intel_tree"
MARKER = ".benchmark_tree.json"  # a hidden file: the data modules skip names starting with "."
RESULT = "child result: "


def intel_tree(root: Path = DEFAULT_TREE, images: int = 2100, test_images: int = 60) -> Path:
    """A Kaggle-layout tree of >= ``images`` train and >= ``test_images`` test JPEGs (150x150), made once.

    A tree this function wrote is reused when its counts match and rewritten when they do not. A folder that
    holds a seg_train/ but no marker (e.g. the real Kaggle download) is used as it is and never touched.
    """
    marker = root / MARKER
    wanted = {
        "train_per_class": math.ceil(images / len(CLASSES)),
        "test_per_class": math.ceil(test_images / len(CLASSES)),
    }
    if marker.is_file():
        if json.loads(marker.read_text()) == wanted:
            return root
        for split in ("seg_train", "seg_test"):
            shutil.rmtree(root / split, ignore_errors=True)
        marker.unlink()
    elif (root / "seg_train").is_dir():
        print(f"{root} holds a seg_train/ not written by this script: using it as it is")
        return root
    print(f"writing {wanted['train_per_class'] * len(CLASSES)} train JPEGs under {root} ...", flush=True)
    rng = np.random.default_rng(0)
    write_split(root / "seg_train" / "seg_train", wanted["train_per_class"], rng)
    write_split(root / "seg_test" / "seg_test", wanted["test_per_class"], rng)
    marker.write_text(json.dumps(wanted))
    return root


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def build_cache(args: argparse.Namespace, cache_dir: Path) -> dict:
    """Seconds to build every split's cache from scratch, and the images decoded."""
    datamodule = IntelDataModule(
        str(args.tree), image_size=args.image_size, cache_dir=str(cache_dir), decode_workers=args.decode_workers
    )
    start = time.perf_counter()
    datamodule.prepare_data()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "images": sum(len(cache.labels) for cache in datamodule.caches.values())}


def minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def cached_epochs(args: argparse.Namespace, cache_dir: Path) -> dict:
    """Seconds to open the cache (setup); seconds and page faults of each cached epoch with and without the float
    conversion; the images per epoch. The two kinds alternate, so drift in the machine's speed hits both alike."""
    datamodule = IntelDataModule(
        str(args.tree), image_size=args.image_size, cache_dir=str(cache_dir), batch_size=args.batch_size
    )
    start = time.perf_counter()
    datamodule.setup("fit")
    result = {"open_seconds": time.perf_counter() - start, "float": [], "uint8": [], "faults": [], "images": 0}
    for _ in range(args.epochs):
        for kind in ("float", "uint8"):
            images, faults = 0, minor_faults()
            start = time.perf_counter()
            for x, _ in datamodule.train_dataloader():
                if kind == "float":
                    x = x.float().div_(255.0)
                images += len(x)
            result[kind].append(time.perf_counter() - start)
            if kind == "float":
                result["faults"].append(minor_faults() - faults)
            result["images"] = images
    return result


CHILD_STEPS = {"build": build_cache, "epochs": cached_epochs}


def in_child(step: str, args: argparse.Namespace, cache_dir: Path) -> dict:
    """Run one step (build_cache or cached_epochs) in a fresh Python process; its result."""
    cmd = [sys.executable, "-m", "benchmarks.intel_cache", "--child", step, str(cache_dir), "--tree", str(args.tree)]
    cmd += ["--image-size", str(args.image_size), "--batch-size", str(args.batch_size)]
    cmd += ["--decode-workers", str(args.decode_workers), "--epochs", str(args.epochs), "--threads", str(args.threads)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    result = [line for line in proc.stdout.splitlines() if line.startswith(RESULT)]
    if proc.returncode != 0 or not result:
        sys.exit(f"step {step} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return json.loads(result[-1][len(RESULT) :])


def single_thread_decode(tree: Path, cache_dir: Path, image_size: int, subset: int) -> tuple[float, int]:
    """Seconds per image decoding ``subset`` train files (spread over the classes) on one thread."""
    datamodule = IntelDataModule(str(tree), image_size=image_size)
    folders = datamodule.find_split_folders()
    files, labels = list_labelled(folders["train"], list(IntelDataModule.CLASSES))
    pick = np.linspace(0, len(files) - 1, min(subset, len(files))).astype(int)
    start = time.perf_counter()
    cache = load_or_build(
        "single", [files[i] for i in pick], [labels[i] for i in pick], cache_dir, image_size, workers=1
    )
    return (time.perf_counter() - start) / len(cache.labels), len(cache.labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2100, help="train JPEGs in the generated tree (>= 2,000)")
    parser.add_argument("--test-images", type=int, default=60, help="seg_test JPEGs in the generated tree")
    parser.add_argument("--tree", type=Path, default=DEFAULT_TREE, help="where the tree is written (or a real one)")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--decode-workers", type=int, default=0, help="0: the data module's default")
    parser.add_argument("--rounds", type=int, default=5, help="cache builds from scratch, each in a new process")
    parser.add_argument("--epochs", type=int, default=3, help="cached epochs per round (of each kind)")
    parser.add_argument("--single-subset", type=int, default=200, help="files decoded on one thread (0: skip)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default, one per core)")
    parser.add_argument("--out", type=Path, default=OUT / "intel_cache")
    parser.add_argument("--child", nargs=2, metavar=("STEP", "CACHE_DIR"), help=argparse.SUPPRESS)  # see in_child
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.child:
        step, cache_dir = args.child
        print(RESULT + json.dumps(CHILD_STEPS[step](args, Path(cache_dir))))
        return

    args.tree = intel_tree(args.tree.resolve(), args.images, args.test_images)
    jpegs = sorted(args.tree.glob("seg_*/**/*.jpg"))
    kib = statistics.mean(p.stat().st_size for p in jpegs) / 1024 if jpegs else float("nan")
    builds, built, opens, epochs, gathers, faults, epoch_images = [], 0, [], [], [], [], 0
    for round_ in range(args.rounds):
        cache_dir = fresh_dir(args.out / f"cache{round_}")
        build = in_child("build", args, cache_dir)
        builds.append(build["seconds"])
        built = build["images"]
        cached = in_child("epochs", args, cache_dir)
        opens.append(cached["open_seconds"])
        epochs += cached["float"]
        gathers += cached["uint8"]
        faults += cached["faults"]
        epoch_images = cached["images"]
        shutil.rmtree(cache_dir)
        print(
            f"round {round_}: build {build['seconds']:.3f} s, cached epochs "
            f"{', '.join(f'{t:.3f}' for t in cached['float'])} s",
            flush=True,
        )
    single = None
    if args.single_subset:
        single = single_thread_decode(args.tree, fresh_dir(args.out / "single"), args.image_size, args.single_subset)
        shutil.rmtree(args.out / "single")

    med = statistics.median
    build_rate, epoch_rate = built / med(builds), epoch_images / med(epochs)
    workers = args.decode_workers or min(8, os.cpu_count() or 1)
    print(f"machine: {machine()}")
    print(
        f"tree: {args.tree} ({len(jpegs)} JPEGs, mean {kib:.1f} KiB); {args.image_size}x{args.image_size}x3 cache; "
        f"{args.rounds} rounds x (1 build + {args.epochs} cached epochs of each kind), a process per step; "
        f"{torch.get_num_threads()} torch threads; load average {os.getloadavg()[0]:.1f}"
    )
    print("| step | images | seconds (median) | seconds (fastest) | images/s (median) |")
    print("|---|---|---|---|---|")
    print(
        f"| first epoch's extra cost: build the cache (decode train + test, {workers} threads) | {built} | "
        f"{med(builds):.3f} | {min(builds):.3f} | {build_rate:.0f} |"
    )
    if single is not None:
        per_image, n = single
        print(f"| single-thread decode (subset) | {n} | {per_image * n:.3f} | - | {1 / per_image:.0f} |")
    print(f"| open the cache (setup: list + stat, no decode) | {built} | {med(opens):.3f} | {min(opens):.3f} | - |")
    read_rate = epoch_images / med(gathers)
    print(
        f"| cached epoch: the loader's uint8 batches (train split, batch {args.batch_size}) | {epoch_images} | "
        f"{med(gathers):.3f} | {min(gathers):.3f} | {read_rate:.0f} |"
    )
    print(
        f"| cached epoch plus the model's uint8 -> float on this CPU | {epoch_images} | "
        f"{med(epochs):.3f} | {min(epochs):.3f} | {epoch_rate:.0f} |"
    )
    print(f"| **ratio: cache read / decode** (images/s) | | | | **{read_rate / build_rate:.1f}x** |")
    print(
        f"| ratio with the float conversion on the CPU | | | | {epoch_rate / build_rate:.1f}x (fastest: "
        f"{(epoch_images / min(epochs)) / (built / min(builds)):.1f}x) |"
    )
    print(f"minor page faults per cached float epoch: median {med(faults):.0f}, min {min(faults)}, max {max(faults)}")
    print(
        "target: cached epoch >= 20x faster per image than decoding (the float conversion runs on the model's device)"
    )


if __name__ == "__main__":
    main()
