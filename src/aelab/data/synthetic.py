"""Real image files of known content, made on the spot: trees of JPEG and PNG scenes in the Kaggle Intel layout and
in ImageFolder layouts.

Why it exists: the tests, the benchmarks and the notebook need real files to decode (the path users' own images
take: OpenCV, the pixel limit, the cache), of known classes and sizes, on machines without network, where the Intel
photos cannot be fetched. One generator serves them all, so a figure measured on generated scenes and a test of the
loader read the same kind of file. The files are written by OpenCV: smooth colour scenes of each class's own hue,
with a horizon and noise, at the sizes seed 002 lists (mostly 150x150, some not square), plus the awkward ones a
real folder holds (grayscale, RGBA, 16-bit, broken).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

CLASSES = ("buildings", "forest", "glacier", "mountain", "sea", "street")
ODD_SIZES = ((113, 150), (76, 150), (150, 131))


def scene(rng: np.random.Generator, label: int, height: int = 150, width: int = 150) -> np.ndarray:
    """A BGR uint8 'scene': a class-coloured gradient with a horizon and noise, so classes differ."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    hue = np.array([40 * label % 255, 90 + 25 * label % 160, 200 - 30 * label % 200], dtype=np.float32)
    horizon = height * rng.uniform(0.3, 0.7)
    sky = (y < horizon)[..., None]
    image = hue * (0.6 + 0.4 * x[..., None] / width) * np.where(sky, 1.0, 0.55)
    image += rng.normal(0, 12, size=(height, width, 3))
    return image.clip(0, 255).astype(np.uint8)


def write_split(
    folder: Path, per_class: int, rng: np.random.Generator, classes: Sequence[str] = CLASSES, awkward: bool = False
) -> int:
    """Write ``per_class`` JPEGs for each class; with ``awkward`` add one odd-sized, grayscale, RGBA, 16-bit file."""
    written = 0
    for label, name in enumerate(classes):
        sub = folder / name
        sub.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            size = ODD_SIZES[i % len(ODD_SIZES)] if (awkward and i < len(ODD_SIZES)) else (150, 150)
            cv2.imwrite(str(sub / f"{i}.jpg"), scene(rng, label, *size))
            written += 1
        if awkward:
            image = scene(rng, label)
            cv2.imwrite(str(sub / "gray.png"), cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
            cv2.imwrite(str(sub / "rgba.png"), cv2.cvtColor(image, cv2.COLOR_BGR2BGRA))
            cv2.imwrite(str(sub / "deep16.png"), image.astype(np.uint16) * 257)
            written += 3
    return written


def write_broken(folder: Path) -> int:
    """An empty file, a truncated JPEG header and a text file: three files that must be skipped."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "truncated.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF")
    (folder / "notes.txt").write_text("not an image")
    return 3


def make_intel_tree(
    root: Path, per_class: int = 6, test_per_class: int = 3, doubled: bool = True, pred: int = 5
) -> Path:
    """The Kaggle layout: seg_train/seg_train/<class>/, seg_test/seg_test/<class>/, seg_pred/seg_pred/."""
    rng = np.random.default_rng(0)

    def split_dir(name: str) -> Path:
        return root / name / name if doubled else root / name

    write_split(split_dir("seg_train"), per_class, rng, awkward=True)
    write_broken(split_dir("seg_train") / "forest")
    write_split(split_dir("seg_test"), test_per_class, rng)
    pred_dir = split_dir("seg_pred")
    pred_dir.mkdir(parents=True, exist_ok=True)
    for i in range(pred):
        cv2.imwrite(str(pred_dir / f"{i}.jpg"), scene(rng, i % len(CLASSES)))
    return root
