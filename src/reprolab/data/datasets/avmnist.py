"""AV-MNIST as MultiBench distributes it: `avmnist.tar.gz` on Google Drive (the course's link).

No published checksum: trust on first use (the sha256 is recorded in the lock file and the
report's provenance). The last 5,000 of train are the validation split.

Images (60000 x 784) are float64 MNIST digits with most of their energy removed by a PCA projection:
values from about -190 to 256, about half negative, almost none integers. They are not pixels: they
are never rounded or clipped. `prepare` stores them as float16 raw / 255, sign kept, as MultiBench
divides them by 255. float16 suffices: at most 2.5e-4 absolute error on raw / 255 (0.06 in raw units),
a relative L2 error of 2e-4 over the fixture; rounding to uint8 changed it by 58 %. The engine's
normaliser leaves float inputs unscaled, so the networks see raw / 255 (computed in float32).
Audio are 112 x 112 uint8 spectrograms of spoken digits, stored as uint8; the normaliser scales
uint8 by 1 / 255, as MultiBench does.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from reprolab.data.download import extract
from reprolab.data.fixtures import digit_images
from reprolab.data.sources import RemoteFile
from reprolab.errors import DataError

if TYPE_CHECKING:
    import torch

ARCHIVE = "avmnist.tar.gz"
FILES: tuple[RemoteFile, ...] = (RemoteFile(ARCHIVE, (), gdrive_id="1KvKynJJca5tDtI5Mmp6CoRh9pQywH8Xp"),)
IMAGE_SIZE, AUDIO_SIZE = 28, 112


def _layout(split: str) -> dict[str, str]:
    """Paths inside the archive of one split's arrays (MultiBench `datasets/avmnist/get_data.py`)."""
    return {"image": f"avmnist/image/{split}_data.npy", "audio": f"avmnist/audio/{split}_data.npy",
            "labels": f"avmnist/{split}_labels.npy"}


def _load(root: Path, name: str) -> np.ndarray:
    path = root / name
    if not path.is_file():
        raise DataError(f"{ARCHIVE} has no {name}; is it MultiBench's AV-MNIST archive? Fetch it again")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise DataError(f"cannot read {name} of {ARCHIVE}: {e}; it is truncated or corrupt: "
                        "fetch it again") from e


def prepare(raw_dir: Path) -> dict[str, dict[str, torch.Tensor]]:
    """`{"image": float16 raw / 255 [N, 1, 28, 28], "audio": uint8 [N, 1, 112, 112]}` and labels,
    train and test."""
    import torch  # here, not with the module: the jobs writing fixtures run no torch

    splits = {}
    with tempfile.TemporaryDirectory(dir=raw_dir) as tmp:
        extract(Path(raw_dir) / ARCHIVE, Path(tmp))
        for split in ("train", "test"):
            arrays = {key: _load(Path(tmp), name) for key, name in _layout(split).items()}
            n = len(arrays["labels"])
            if len(arrays["image"]) != n or len(arrays["audio"]) != n:
                raise DataError(f"AV-MNIST {split}: {len(arrays['image'])} images, {len(arrays['audio'])} "
                                f"spectrograms, {n} labels in {raw_dir / ARCHIVE}; fetch it again")
            image = (arrays["image"] / 255).astype(np.float16)
            audio = np.clip(np.rint(arrays["audio"]), 0, 255).astype(np.uint8)
            splits[split] = {
                "x": {"image": torch.from_numpy(image.reshape(n, 1, IMAGE_SIZE, IMAGE_SIZE)),
                      "audio": torch.from_numpy(audio.reshape(n, 1, AUDIO_SIZE, AUDIO_SIZE))},
                "y": torch.from_numpy(arrays["labels"].astype(np.int64)),
            }
    return splits


def spectrograms(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Spectrogram-like uint8 images: bright frequency bands at label-specific heights, noised."""
    rows = np.arange(AUDIO_SIZE)[:, None]
    out = np.empty((len(labels), AUDIO_SIZE, AUDIO_SIZE), dtype=np.uint8)
    for i, label in enumerate(labels):
        start, length = rng.integers(5, 30), rng.integers(50, 80)
        bands = sum(np.exp(-((rows - centre - rng.normal(0, 2)) / 3) ** 2)
                    for centre in (10 + 4 * label, 55 + 5 * label))
        frame = np.zeros((1, AUDIO_SIZE))
        frame[0, start:start + length] = 1
        image = 200 * bands * frame + rng.normal(30, 25, (AUDIO_SIZE, AUDIO_SIZE))
        out[i] = np.clip(image, 0, 255).astype(np.uint8)
    return out


def pca_residuals(train: np.ndarray, test: np.ndarray, removed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """AV-MNIST-like float64 images [N, 784]: digits minus their projection onto the top `removed`
    principal directions of train, scaled so that train's maximum is 256 (about half negative)."""
    basis = np.linalg.svd(train.astype(np.float64), full_matrices=False)[2][:removed]
    train, test = (x - x @ basis.T @ basis for x in (train.astype(np.float64), test.astype(np.float64)))
    scale = 256 / train.max()
    return train * scale, test * scale


def write_fixture(dest_dir: Path, n_train: int, n_test: int, rng: np.random.Generator) -> list[Path]:
    """`avmnist.tar.gz` in MultiBench's `.npy` layout: float64 PCA-residual images (N x 784), uint8 audio."""
    path = Path(dest_dir) / ARCHIVE
    labels = {}
    for split, n in (("train", n_train), ("test", n_test)):
        labels[split] = np.arange(n) % 10
        rng.shuffle(labels[split])
    digits = {split: digit_images(y, rng).reshape(len(y), -1) for split, y in labels.items()}
    images = dict(zip(("train", "test"), pca_residuals(digits["train"], digits["test"]), strict=True))
    with tarfile.open(path, "w:gz") as tar:
        for split, y in labels.items():
            arrays = {"image": images[split], "audio": spectrograms(y, rng), "labels": y}
            for key, name in _layout(split).items():
                buffer = io.BytesIO()
                np.save(buffer, arrays[key])
                info = tarfile.TarInfo(name)
                info.size = buffer.tell()
                buffer.seek(0)
                tar.addfile(info, buffer)
    return [path]
