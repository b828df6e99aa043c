"""MNIST, from the original IDX files (DATASETS.md: torchvision's mirrors and md5s)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from reprolab.data.fixtures import digit_images
from reprolab.data.formats import read_idx, write_idx
from reprolab.data.sources import RemoteFile, mirrored
from reprolab.errors import DataError

if TYPE_CHECKING:
    import torch

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

FILES: tuple[RemoteFile, ...] = (
    mirrored("train-images-idx3-ubyte.gz", MIRRORS, md5="f68b3c2dcbeaaa9fbdd348bbdeb94873",
             size=9_912_422),
    mirrored("train-labels-idx1-ubyte.gz", MIRRORS, md5="d53e105ee54ea40749a09fcbcd1e9432",
             size=28_881),
    mirrored("t10k-images-idx3-ubyte.gz", MIRRORS, md5="9fb629c4189551a2d022fa330f9573f3",
             size=1_648_877),
    mirrored("t10k-labels-idx1-ubyte.gz", MIRRORS, md5="ec29112dd5afa0611ce80d1b7f02629c",
             size=4_542),
)

PREFIXES = {"train": "train", "test": "t10k"}


def write_fixture(dest_dir: Path, n_train: int, n_test: int, rng: np.random.Generator) -> list[Path]:
    """The four IDX gz files, with rendered digits instead of handwriting."""
    paths = []
    for split, n in (("train", n_train), ("test", n_test)):
        labels = np.arange(n, dtype=np.uint8) % 10
        rng.shuffle(labels)
        for kind, array in (("images-idx3", digit_images(labels, rng)), ("labels-idx1", labels)):
            path = Path(dest_dir) / f"{PREFIXES[split]}-{kind}-ubyte.gz"
            write_idx(path, array)
            paths.append(path)
    return paths


def prepare(raw_dir: Path) -> dict[str, dict[str, torch.Tensor]]:
    """uint8 images [N, 1, 28, 28] and int64 labels for `train` and `test`."""
    import torch  # here, not with the module: the jobs writing fixtures run no torch

    splits = {}
    for split, prefix in PREFIXES.items():
        images = read_idx(Path(raw_dir) / f"{prefix}-images-idx3-ubyte.gz")
        labels = read_idx(Path(raw_dir) / f"{prefix}-labels-idx1-ubyte.gz")
        if len(images) != len(labels):
            raise DataError(f"MNIST {split}: {len(images)} images but {len(labels)} labels in {raw_dir}")
        splits[split] = {"x": torch.from_numpy(images.copy()).unsqueeze(1),
                         "y": torch.from_numpy(labels.astype("int64"))}
    return splits
