"""Tiny datasets written in the exact on-disk formats of the real releases.

The smoke preset and the tests read them with the real loaders. The content is learnable
(each class has its own look) so that a smoke run shows training working, never a result.
Each dataset module's `write_fixture` does the writing; helpers shared by several live here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from reprolab.data.download import FileRecord, digests, write_manifest


def digit_images(labels: np.ndarray, rng: np.random.Generator, size: int = 28) -> np.ndarray:
    """Handwriting-like uint8 images: the label's glyph, randomly shifted, rotated and noised."""
    font = ImageFont.load_default(size=18 * size // 28)
    images = np.empty((len(labels), size, size), dtype=np.uint8)
    for i, label in enumerate(labels):
        canvas = Image.new("L", (size, size))
        dx, dy = rng.integers(-3, 4, size=2)
        ImageDraw.Draw(canvas).text((size // 3 + dx, size // 9 + dy), str(int(label)), fill=255,
                                    font=font)
        canvas = canvas.rotate(float(rng.uniform(-15, 15)))
        noisy = np.asarray(canvas, dtype=np.float32) + rng.normal(0, 20, (size, size))
        images[i] = np.clip(noisy, 0, 255).astype(np.uint8)
    return images


def write_fixture(dataset: str, dest_dir: Path, n_train: int, n_test: int, seed: int = 0) -> None:
    """Write the fixture of `dataset` into `dest_dir`, with a manifest like a download's."""
    from reprolab.data.datasets import dataset_module

    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    paths = dataset_module(dataset).write_fixture(dest_dir, n_train, n_test,
                                                  np.random.default_rng(seed))
    records = [FileRecord(p.name, digests(p)["sha256"], p.stat().st_size, "fixture", "fixture")
               for p in paths]
    write_manifest(dest_dir, records, dataset=dataset)


def is_fixture(raw_dir: Path) -> bool:
    """Whether a raw dataset folder was written by `write_fixture` (its manifest says so)."""
    manifest = Path(raw_dir) / "manifest.json"
    if not manifest.is_file():
        return False
    files = json.loads(manifest.read_text())["files"]
    return bool(files) and all(f["status"] == "fixture" for f in files)
