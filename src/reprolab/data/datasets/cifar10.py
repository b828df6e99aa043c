"""CIFAR-10, from the official python pickle batches (DATASETS.md: torchvision's md5, Keras' sha256).

The archive's checksum is checked again, against the one recorded in `manifest.json` when it
was downloaded and verified (or written as a fixture), before anything is unpickled, and the
batches are read by an unpickler that builds numpy arrays and nothing else (`read_pickle`):
pickle executes code. They are Python 2 pickles (cPickle), and so are the fixture's.
"""

from __future__ import annotations

import json
import tarfile
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from reprolab.data.download import digests, extract
from reprolab.data.formats import py2_pickle, read_pickle
from reprolab.data.sources import RemoteFile
from reprolab.errors import DataError

if TYPE_CHECKING:
    import torch

ARCHIVE = "cifar-10-python.tar.gz"
FOLDER = "cifar-10-batches-py"
FILES: tuple[RemoteFile, ...] = (
    RemoteFile(ARCHIVE, (f"https://www.cs.toronto.edu/~kriz/{ARCHIVE}",),
               md5="c58f30108f718f92721af3b95e74349a",
               sha256="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
               size=170_498_071),
)
BATCHES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
# One colour per class for the fixture images (RGB).
_COLOURS = np.array([[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
                     [145, 30, 180], [70, 240, 240], [240, 50, 230], [128, 128, 0], [255, 255, 255]])


def fixture_images(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """uint8 [N, 3072] (CHW order): a noisy disc of the class colour, randomly placed and sized."""
    yy, xx = np.mgrid[:32, :32]
    images = np.empty((len(labels), 3, 32, 32), dtype=np.float32)
    for i, label in enumerate(labels):
        cy, cx = 16 + rng.integers(-4, 5, size=2)
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= rng.integers(6, 11) ** 2
        background = rng.uniform(0, 90, size=3)[:, None, None]
        images[i] = np.where(disc, _COLOURS[label][:, None, None], background)
    images += rng.normal(0, 25, images.shape)
    return np.clip(images, 0, 255).astype(np.uint8).reshape(len(labels), -1)


def _batch(labels: np.ndarray, rng: np.random.Generator, name: str) -> dict:
    return {b"batch_label": name.encode(), b"labels": [int(v) for v in labels],
            b"data": fixture_images(labels, rng),
            b"filenames": [f"fixture_{name}_{i}.png".encode() for i in range(len(labels))]}


def write_fixture(dest_dir: Path, n_train: int, n_test: int, rng: np.random.Generator) -> list[Path]:
    """A real-format `cifar-10-python.tar.gz`: five training batches, the test batch, the meta file."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / FOLDER
        folder.mkdir()
        sizes = {"test_batch": n_test} | {name: n_train // 5 + (i < n_train % 5)
                                          for i, name in enumerate(BATCHES["train"])}
        for name, n in sizes.items():
            labels = np.arange(n) % 10
            rng.shuffle(labels)
            (folder / name).write_bytes(py2_pickle(_batch(labels, rng, name)))
        meta = {b"label_names": [c.encode() for c in CLASSES], b"num_cases_per_batch": 10000,
                b"num_vis": 3072}
        (folder / "batches.meta").write_bytes(py2_pickle(meta))
        archive = Path(dest_dir) / ARCHIVE
        with tarfile.open(archive, "w:gz") as tf:
            tf.add(folder, arcname=FOLDER)
    return [archive]


def verified_archive(raw_dir: Path) -> Path:
    """The archive, after checking its sha256 against the one its manifest recorded."""
    archive, manifest = Path(raw_dir) / ARCHIVE, Path(raw_dir) / "manifest.json"
    if not archive.is_file() or not manifest.is_file():
        raise DataError(f"{archive} or its manifest.json is missing: run the download rule "
                        f"(`snakemake {manifest}`) or pre-stage {ARCHIVE} (data.prestaged_dir)")
    recorded = {f["name"]: f["sha256"] for f in json.loads(manifest.read_text())["files"]}
    if digests(archive)["sha256"] != recorded.get(ARCHIVE):
        raise DataError(f"{archive} does not match the sha256 its manifest recorded; it changed "
                        f"since it was verified: delete {raw_dir} and download it again")
    return archive


def prepare(raw_dir: Path) -> dict[str, dict[str, torch.Tensor]]:
    """uint8 images [N, 3, 32, 32] and int64 labels for `train` (50k) and `test` (10k)."""
    import torch  # here, not with the module: the jobs writing fixtures run no torch

    archive = verified_archive(Path(raw_dir))
    splits = {}
    with tempfile.TemporaryDirectory(dir=raw_dir) as tmp:
        extract(archive, Path(tmp))
        for split, names in BATCHES.items():
            images, labels = [], []
            for name in names:
                path = Path(tmp) / FOLDER / name
                if not path.is_file():
                    raise DataError(f"{archive} has no {FOLDER}/{name}; is it the CIFAR-10 python release?")
                batch = read_pickle(path.read_bytes(), f"{FOLDER}/{name} of {archive}",
                                    "delete the archive and download it again")
                try:
                    images.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3072))
                    labels.extend(int(v) for v in batch[b"labels"])
                except (KeyError, TypeError, ValueError) as e:
                    raise DataError(f"CIFAR-10 batch {name} of {archive} is not a batch ({e!r}); "
                                    "delete the archive and download it again") from e
            x = np.concatenate(images).reshape(-1, 3, 32, 32)
            splits[split] = {"x": torch.from_numpy(x), "y": torch.tensor(labels, dtype=torch.int64)}
    return splits
