"""Tiny datasets written in the exact on-disk formats of the real releases.

The smoke preset and the tests read them with the real loaders. The content is learnable
(each class has its own look) so that a smoke run shows training working, never a result.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from reprolab.data.download import FileRecord, digests, write_manifest
from reprolab.data.formats import write_idx
from reprolab.errors import ConfigError


def digit_images(labels: np.ndarray, rng: np.random.Generator, size: int = 28) -> np.ndarray:
    """Handwriting-like 28x28 uint8 images: the label's glyph, randomly placed, scaled, noised."""
    font = ImageFont.load_default(size=18)
    images = np.empty((len(labels), size, size), dtype=np.uint8)
    for i, label in enumerate(labels):
        canvas = Image.new("L", (size, size))
        dx, dy = rng.integers(-3, 4, size=2)
        ImageDraw.Draw(canvas).text((9 + dx, 3 + dy), str(int(label)), fill=255, font=font)
        canvas = canvas.rotate(float(rng.uniform(-15, 15)))
        noisy = np.asarray(canvas, dtype=np.float32) + rng.normal(0, 20, (size, size))
        images[i] = np.clip(noisy, 0, 255).astype(np.uint8)
    return images


def write_mnist(dest_dir: Path, n_train: int, n_test: int, seed: int = 0) -> list[Path]:
    """MNIST's four IDX gz files with `n_train` and `n_test` examples."""
    rng = np.random.default_rng(seed)
    paths = []
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(n, dtype=np.uint8) % 10
        rng.shuffle(labels)
        for kind, array in (("images-idx3", digit_images(labels, rng)), ("labels-idx1", labels)):
            path = Path(dest_dir) / f"{prefix}-{kind}-ubyte.gz"
            write_idx(path, array)
            paths.append(path)
    return paths


WRITERS = {"mnist": write_mnist}


def write_fixture(dataset: str, dest_dir: Path, n_train: int, n_test: int, seed: int = 0) -> None:
    """Write the fixture of `dataset` into `dest_dir`, with a manifest like a download's."""
    try:
        writer = WRITERS[dataset]
    except KeyError:
        raise ConfigError(f"no fixture writer for dataset {dataset!r}; "
                          f"known: {', '.join(sorted(WRITERS))}") from None
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    records = [
        FileRecord(p.name, digests(p)["sha256"], p.stat().st_size, "fixture", "fixture")
        for p in writer(dest_dir, n_train, n_test, seed)
    ]
    write_manifest(dest_dir, dataset, records)
