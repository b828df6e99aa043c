"""15-Scene (Lazebnik, Schmid and Ponce, 2006): 4,485 grayscale photos of 15 scene categories.

The release is `scene_categories.zip`, one folder of jpg files per category and no top folder,
served by the Web Archive's copy of the original (dead) host; md5 from DeepMind's dm_nevis. A
pre-staged folder `scene_categories/` holding the 15 category folders (e.g. unpacked from the
Figshare RAR) is accepted instead of the archive (`data.prestaged_dir`).

Preparation, the course's protocol: `train_per_class` images per category (100) drawn with a
fixed seed for training, the rest for test; each image resized to `size` x `size` (224: both
sides, bilinear, no crop, as the course's `transforms.Resize((224, 224))`), then its gray channel
**duplicated to three channels** (the course's `duplicateChannel`), because the ImageNet networks
expect RGB. Stored as uint8 [N, 3, size, size]; ImageNet normalisation happens at extraction.
"""

from __future__ import annotations

import contextlib
import io
import logging
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from reprolab.data.fixtures import is_fixture
from reprolab.data.sources import RemoteFile
from reprolab.errors import DataError

ARCHIVE = "scene_categories.zip"
FOLDER = "scene_categories"
FILES: tuple[RemoteFile, ...] = (
    RemoteFile(ARCHIVE, ("https://web.archive.org/web/20070829035029/http://www-cvr.ai.uiuc.edu/"
                         f"ponce_grp/data/scene_categories/{ARCHIVE}",),
               md5="58828019197b2ad0a7efb472e7a85c2a", folder=FOLDER),
)
# The release's category folders, in the order of torchvision's ImageFolder (sorted names).
CATEGORIES = ("CALsuburb", "MITcoast", "MITforest", "MIThighway", "MITinsidecity", "MITmountain",
              "MITopencountry", "MITstreet", "MITtallbuilding", "PARoffice", "bedroom", "industrial",
              "kitchen", "livingroom", "store")
N_IMAGES = 4485
TRAIN_PER_CLASS, SIZE = 100, 224
log = logging.getLogger(__name__)

Entry = tuple[str, str, Callable[[], bytes]]  # (category, file name, read its bytes)


def _is_image(name: str) -> bool:
    path = PurePosixPath(name)
    return path.suffix.lower() in (".jpg", ".jpeg") and "__MACOSX" not in path.parts


def _entries_of_zip(zf: zipfile.ZipFile) -> list[Entry]:
    return [(PurePosixPath(name).parent.name, PurePosixPath(name).name, lambda name=name: zf.read(name))
            for name in zf.namelist() if _is_image(name) and PurePosixPath(name).parent.name]


def _entries_of_folder(folder: Path) -> list[Entry]:
    return [(p.parent.name, p.name, p.read_bytes) for p in sorted(folder.rglob("*"))
            if p.is_file() and _is_image(p.relative_to(folder).as_posix()) and p.parent != folder]


def split_indices(categories: list[str], train_per_class: int, split_seed: int,
                  test_per_class: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and test images: per category, `train_per_class` drawn with the
    seed, the rest (or its first `test_per_class`) for test; each split in the input order."""
    rng = np.random.default_rng(split_seed)
    categories = np.asarray(categories)
    train, test = [], []
    for category in sorted(set(categories.tolist())):
        members = np.flatnonzero(categories == category)
        if len(members) <= train_per_class:
            raise DataError(f"15-Scene category {category!r} has {len(members)} images; the protocol takes "
                            f"{train_per_class} for training and needs some left for test")
        drawn = rng.permutation(members)
        train.append(drawn[:train_per_class])
        test.append(drawn[train_per_class:][:test_per_class])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def gray_to_rgb(image: Image.Image, size: int) -> tuple[np.ndarray, str]:
    """uint8 [3, size, size]: the image in gray levels, resized (bilinear), its channel duplicated;
    and the mode it was stored in ("L" for the release's grayscale jpg)."""
    mode = image.mode
    gray = np.asarray(image.convert("L").resize((size, size), Image.BILINEAR), dtype=np.uint8)
    return np.repeat(gray[None], 3, axis=0), mode


@contextlib.contextmanager
def release_entries(raw_dir: Path) -> Iterator[tuple[list[Entry], Path]]:
    """The release's images, sorted by category and name, from the archive or a pre-staged folder."""
    archive, folder = Path(raw_dir) / ARCHIVE, Path(raw_dir) / FOLDER
    if archive.is_file():
        with zipfile.ZipFile(archive) as zf:
            yield sorted(_entries_of_zip(zf), key=lambda e: e[:2]), archive
    elif folder.is_dir():
        yield sorted(_entries_of_folder(folder), key=lambda e: e[:2]), folder
    else:
        raise DataError(f"{raw_dir} holds neither {ARCHIVE} nor {FOLDER}/: run the download step again, "
                        f"or pre-stage one of them (data.prestaged_dir)")


def prepare(raw_dir: Path, train_per_class: int = TRAIN_PER_CLASS, split_seed: int = 0, size: int = SIZE,
            test_per_class: int | None = None) -> dict[str, dict]:
    """`train` and `test` (uint8 [N, 3, size, size], int64 category labels) and `meta` (categories,
    file names, the modes the images were stored in, the channel check).

    `test_per_class` (default: every image left) only serves small runs (the smoke preset).
    """
    import torch  # here, not with the module: the jobs writing fixtures run no torch

    with release_entries(raw_dir) as (entries, where):
        categories = sorted({category for category, _, _ in entries})
        if not is_fixture(raw_dir) and (len(entries) != N_IMAGES or len(categories) != len(CATEGORIES)):
            raise DataError(f"{where} holds {len(entries)} jpg images in {len(categories)} folders; 15-Scene "
                            f"has {N_IMAGES} in {len(CATEGORIES)}: delete {raw_dir} and download it again")
        labels = [categories.index(category) for category, _, _ in entries]
        train, test = split_indices([e[0] for e in entries], train_per_class, split_seed, test_per_class)
        splits, modes, files = {}, {}, {}
        for split, index in (("train", train), ("test", test)):
            images = np.empty((len(index), 3, size, size), dtype=np.uint8)
            for row, i in enumerate(index):
                category, name, read = entries[i]
                try:
                    with Image.open(io.BytesIO(read())) as image:
                        images[row], mode = gray_to_rgb(image, size)
                except OSError as e:
                    raise DataError(f"cannot decode 15-Scene image {category}/{name} of {where}: {e}") from e
                modes[mode] = modes.get(mode, 0) + 1
            splits[split] = {"x": torch.from_numpy(images),
                             "y": torch.tensor([labels[i] for i in index], dtype=torch.int64)}
            files[split] = [f"{entries[i][0]}/{entries[i][1]}" for i in index]
    identical = all(torch.equal(s["x"][:, 0], s["x"][:, c]) for s in splits.values() for c in (1, 2))
    log.info("15-Scene: %d train / %d test images of %d categories, stored modes %s",
             len(train), len(test), len(categories), modes)
    meta = {"categories": categories, "files": files, "source_modes": modes, "size": size,
            "train_per_class": train_per_class, "split_seed": split_seed, "channels_identical": identical}
    return {**splits, "meta": meta}


def fixture_image(category: int, rng: np.random.Generator) -> np.ndarray:
    """A small grayscale 'scene' (uint8 [H, W], 48-80 px a side): a grating whose orientation and
    frequency are the category's, with a random phase, brightness and noise."""
    h, w = rng.integers(48, 81, size=2)
    yy, xx = np.mgrid[:h, :w] / 64.0
    angle = np.pi * category / len(CATEGORIES)
    frequency = 2 + (category % 5) * 2
    phase = rng.uniform(0, 2 * np.pi)
    wave = np.sin(2 * np.pi * frequency * (xx * np.cos(angle) + yy * np.sin(angle)) + phase)
    image = 128 + rng.uniform(-30, 30) + 70 * wave + rng.normal(0, 20, (h, w))
    return np.clip(image, 0, 255).astype(np.uint8)


def write_fixture(dest_dir: Path, n_train: int, n_test: int, rng: np.random.Generator) -> list[Path]:
    """The release's layout: `scene_categories.zip` with one folder of grayscale jpg per category
    (`<category>/image_0001.jpg`), `n_train + n_test` images over the 15 categories."""
    path = Path(dest_dir) / ARCHIVE
    counts = [0] * len(CATEGORIES)
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(n_train + n_test):
            category = i % len(CATEGORIES)
            counts[category] += 1
            buffer = io.BytesIO()
            Image.fromarray(fixture_image(category, rng), mode="L").save(buffer, format="JPEG", quality=90)
            zf.writestr(f"{CATEGORIES[category]}/image_{counts[category]:04d}.jpg", buffer.getvalue())
    return [path]
