"""Intel scenes: the first epoch (decode every JPEG into the cache) vs a cached epoch (batches from the memory map).

    python -m benchmarks.intel_cache --images 2100 --rounds 3

Writes (once; reused while its size matches) a tree of real 150x150 JPEG scenes in the Kaggle layout
(seg_train/seg_train/<class>/, seg_test/seg_test/<class>/) under benchmarks/out/intel_tree with the helpers of
tests/image_trees.py. Each round then
  (a) builds the cache from scratch: IntelDataModule(...).prepare_data() with a fresh cache_dir at
      data.image_size 128 and the default decode workers (min(8, CPU cores)): list, OpenCV decode, resize,
      write the uint8 memory map, for the train and the test split;
  (b) opens that cache with a second data module (setup("fit"): listing and stat of every file, no decoding) and
      runs --epochs cached epochs: the whole train_dataloader() (batch 32), each batch turned into float as the
      model does (x.float().div_(255)); alternating with epochs of the bare uint8 batches, for comparison.
The single-thread decode time per image is measured on a --single-subset of the train files (decode_workers=1).
The JPEGs were just written or read, so they sit in the OS page cache: (a) measures decoding, not a cold disk.
The ratio compares images per second, since the build decodes train + test and an epoch reads the train split.
Target: a cached epoch at least 20x faster per image than decoding.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import time
from pathlib import Path

import numpy as np
from tests.image_trees import CLASSES, write_split

from aelab.data.folders import IntelDataModule, list_labelled
from aelab.data.image_cache import load_or_build
from benchmarks.common import ROOT, machine

OUT = ROOT / "benchmarks" / "out"
DEFAULT_TREE = OUT / "intel_tree"
MARKER = ".benchmark_tree.json"  # a hidden file: the data modules skip names starting with "."


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


def build_cache(tree: Path, cache_dir: Path, image_size: int, workers: int) -> tuple[float, int]:
    """Seconds to build every split's cache from scratch, and the images decoded."""
    datamodule = IntelDataModule(str(tree), image_size=image_size, cache_dir=str(cache_dir), decode_workers=workers)
    start = time.perf_counter()
    datamodule.prepare_data()
    seconds = time.perf_counter() - start
    return seconds, sum(len(cache.labels) for cache in datamodule.caches.values())


def cached_epochs(tree: Path, cache_dir: Path, image_size: int, batch_size: int, epochs: int):
    """Seconds to open the cache (setup); seconds of each cached epoch with and without the float conversion;
    the images per epoch. The two kinds of epoch alternate, so drift in the machine's speed hits both alike."""
    datamodule = IntelDataModule(str(tree), image_size=image_size, cache_dir=str(cache_dir), batch_size=batch_size)
    start = time.perf_counter()
    datamodule.setup("fit")
    open_seconds = time.perf_counter() - start
    times: dict[bool, list[float]] = {True: [], False: []}
    images = 0
    for _ in range(epochs):
        for to_float in (True, False):
            images = 0
            start = time.perf_counter()
            for x, _ in datamodule.train_dataloader():
                if to_float:
                    x = x.float().div_(255.0)
                images += len(x)
            times[to_float].append(time.perf_counter() - start)
    return open_seconds, times[True], times[False], images


def single_thread_decode(tree: Path, cache_dir: Path, image_size: int, subset: int) -> tuple[float, int]:
    """Seconds per image decoding the first ``subset`` train files (evenly over the classes) on one thread."""
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
    parser.add_argument("--rounds", type=int, default=3, help="cache builds from scratch")
    parser.add_argument("--epochs", type=int, default=5, help="cached epochs per round (of each kind)")
    parser.add_argument("--single-subset", type=int, default=200, help="files decoded on one thread (0: skip)")
    parser.add_argument("--out", type=Path, default=OUT / "intel_cache")
    args = parser.parse_args()

    tree = intel_tree(args.tree, args.images, args.test_images)
    jpegs = sorted(tree.glob("seg_*/**/*.jpg"))
    kib = statistics.mean(p.stat().st_size for p in jpegs) / 1024 if jpegs else float("nan")
    builds, built, opens, epochs, gathers, epoch_images = [], 0, [], [], [], 0
    for round_ in range(args.rounds):
        cache_dir = fresh_dir(args.out / f"cache{round_}")
        seconds, built = build_cache(tree, cache_dir, args.image_size, args.decode_workers)
        builds.append(seconds)
        open_seconds, times, gather_times, epoch_images = cached_epochs(
            tree, cache_dir, args.image_size, args.batch_size, args.epochs
        )
        opens.append(open_seconds)
        epochs += times
        gathers += gather_times
        shutil.rmtree(cache_dir)
    single = None
    if args.single_subset:
        single = single_thread_decode(tree, fresh_dir(args.out / "single"), args.image_size, args.single_subset)
        shutil.rmtree(args.out / "single")

    med = statistics.median
    build_rate, epoch_rate = built / med(builds), epoch_images / med(epochs)
    workers = args.decode_workers or min(8, os.cpu_count() or 1)
    print(f"machine: {machine()}")
    print(
        f"tree: {tree} ({len(jpegs)} JPEGs, mean {kib:.1f} KiB); {args.image_size}x{args.image_size}x3 cache; "
        f"{args.rounds} rounds x (1 build + {args.epochs} cached epochs)"
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
    print(
        f"| cached epoch (train split, batch {args.batch_size}, uint8 -> float) | {epoch_images} | "
        f"{med(epochs):.3f} | {min(epochs):.3f} | {epoch_rate:.0f} |"
    )
    print(
        f"| (cached epoch, uint8 batches only, no float) | {epoch_images} | {med(gathers):.3f} | {min(gathers):.3f} | "
        f"{epoch_images / med(gathers):.0f} |"
    )
    print(f"| ratio cached / decode (images/s) | | | | **{epoch_rate / build_rate:.1f}x** |")
    print("target: cached epoch >= 20x faster per image than decoding")


if __name__ == "__main__":
    main()
