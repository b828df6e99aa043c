"""CelebA, aligned and cropped faces: torchvision's official source (Google Drive), DATASETS.md.

`img_align_celeba.zip` holds `img_align_celeba/000001.jpg` ... `202599.jpg` (178 x 218 RGB JPEG);
`list_eval_partition.txt` gives each image's official split, one line `<file> <0|1|2>` (train,
validation, test). Drive often refuses the 1.4 GB zip for a day ("quota exceeded"): the downloader
then says how to pre-stage it (`data.prestaged_dir`), where the unpacked `img_align_celeba/`
folder is accepted too.

`prepare` keeps the official train (162,770) and test (19,962) images, each centre-cropped to its
central square (178 x 178) and resized to `image_size` (bilinear, antialiased: what torchvision's
`Resize` + `CenterCrop` do), stored as uint8 [N, 3, S, S]; `y` is the image's number in the release.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from reprolab.data.sources import RemoteFile
from reprolab.errors import DataError

if TYPE_CHECKING:
    import torch

ARCHIVE, FOLDER, PARTITION = "img_align_celeba.zip", "img_align_celeba", "list_eval_partition.txt"
FILES: tuple[RemoteFile, ...] = (
    RemoteFile(ARCHIVE, (), md5="00d2c5bc6d35e252742224ab0c1e8fcb", size=1_443_490_838,
               gdrive_id="0B7EVK8r0v71pZjFTYXZWM3FlRnM", folder=FOLDER),
    RemoteFile(PARTITION, (), md5="d32c9cbf5e040fd4025c592c306e6668",
               gdrive_id="0B7EVK8r0v71pY0NSMzRuSXJEVkk"),
)
WIDTH, HEIGHT = 178, 218  # every aligned image
SPLITS = {"train": 0, "test": 2}  # of list_eval_partition.txt (1: validation, unused)


def read_partition(path: Path) -> dict[str, int]:
    """`list_eval_partition.txt` -> {file name: 0 (train) | 1 (validation) | 2 (test)}."""
    partition = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            name, split = line.split()
            partition[name] = int(split)
        except ValueError:
            raise DataError(f"{path}, line {number}: {line!r} is not `<file> <0|1|2>`; "
                            "fetch it again") from None
    return partition


def _images(raw_dir: Path, names: list[str]) -> Iterator[tuple[str, bytes]]:
    """The JPEG bytes of `names`, from the pre-staged folder or the zip."""
    folder = Path(raw_dir) / FOLDER
    if folder.is_dir():
        for name in names:
            yield name, (folder / name).read_bytes()
        return
    archive = Path(raw_dir) / ARCHIVE
    if not archive.is_file():
        raise DataError(f"neither {archive} nor {folder}/ is there; fetch the dataset again")
    with zipfile.ZipFile(archive) as zf:
        for name in names:
            try:
                yield name, zf.read(f"{FOLDER}/{name}")
            except KeyError:
                raise DataError(f"{archive} has no {FOLDER}/{name}; "
                                "is it CelebA's aligned archive?") from None


def centre_square(image: Image.Image, size: int) -> np.ndarray:
    """The central square of an image (its shorter side), resized to `size` x `size`: uint8 [3, S, S]."""
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    square = image.convert("RGB").crop((left, top, left + side, top + side))
    return np.asarray(square.resize((size, size), Image.Resampling.BILINEAR)).transpose(2, 0, 1)


def prepare(raw_dir: Path, image_size: int = 64) -> dict[str, dict[str, torch.Tensor]]:
    """uint8 centre crops [N, 3, image_size, image_size] of the official train and test splits."""
    import torch  # here, not with the module: the jobs writing fixtures run no torch

    partition = read_partition(Path(raw_dir) / PARTITION)
    splits = {}
    for split, code in SPLITS.items():
        names = sorted(name for name, part in partition.items() if part == code)
        images = np.empty((len(names), 3, image_size, image_size), dtype=np.uint8)
        for i, (name, data) in enumerate(_images(raw_dir, names)):
            try:
                images[i] = centre_square(Image.open(io.BytesIO(data)), image_size)
            except OSError as e:
                raise DataError(f"CelebA image {name} cannot be decoded ({e}); "
                                "fetch the dataset again") from e
        splits[split] = {"x": torch.from_numpy(images),
                         "y": torch.tensor([int(Path(n).stem) for n in names], dtype=torch.int64)}
    return splits


def face(rng: np.random.Generator) -> Image.Image:
    """A face-like 178 x 218 picture: background, hair, an oval face with eyes, brows, nose and mouth,
    centred as CelebA's aligned faces are, each feature's colour, size and place drawn at random."""
    image = Image.new("RGB", (WIDTH, HEIGHT), tuple(int(c) for c in rng.integers(30, 230, 3)))
    draw = ImageDraw.Draw(image)
    cx, cy = WIDTH / 2 + rng.normal(0, 4), HEIGHT / 2 + 10 + rng.normal(0, 4)
    rx, ry = rng.uniform(40, 52), rng.uniform(55, 68)
    hair = tuple(int(c) for c in rng.integers(10, 120, 3))
    draw.ellipse((cx - rx - 8, cy - ry - 14, cx + rx + 8, cy + ry * 0.5), fill=hair)
    skin = tuple(int(c) for c in np.clip(np.array([225, 180, 150]) * rng.uniform(0.45, 1.05) +
                                         rng.normal(0, 8, 3), 0, 255))
    draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=skin)
    eye_y, gap = cy - ry * 0.15, rx * rng.uniform(0.35, 0.45)
    for side in (-1, 1):
        ex = cx + side * gap
        draw.ellipse((ex - 8, eye_y - 4, ex + 8, eye_y + 4), fill=(240, 240, 240))
        draw.ellipse((ex - 3, eye_y - 3, ex + 3, eye_y + 3), fill=hair)
        draw.line((ex - 9, eye_y - 10, ex + 9, eye_y - 11), fill=hair, width=3)
    draw.line((cx, eye_y + 4, cx - 3, cy + ry * 0.25), fill=tuple(int(c * 0.8) for c in skin), width=3)
    mouth_y, half = cy + ry * 0.5, rx * rng.uniform(0.25, 0.4)
    lips = tuple(int(c) for c in (rng.integers(150, 220), rng.integers(50, 100), rng.integers(60, 110)))
    draw.chord((cx - half, mouth_y - 8, cx + half, mouth_y + 8), 0, 180, fill=lips)
    return image.filter(ImageFilter.BoxBlur(1))


def write_fixture(dest_dir: Path, n_train: int, n_test: int, rng: np.random.Generator) -> list[Path]:
    """`img_align_celeba.zip` (178 x 218 JPEG faces drawn by `face`) and `list_eval_partition.txt`:
    the first `n_train` images are train, then `n_test` // 4 validation, then `n_test` test, in the
    release's numbering (`000001.jpg`, ...)."""
    dest_dir = Path(dest_dir)
    codes = [0] * n_train + [1] * (n_test // 4) + [2] * n_test
    names = [f"{i:06d}.jpg" for i in range(1, len(codes) + 1)]
    archive = dest_dir / ARCHIVE
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{FOLDER}/", b"")
        for name in names:
            buffer = io.BytesIO()
            face(rng).save(buffer, "JPEG", quality=90)
            zf.writestr(f"{FOLDER}/{name}", buffer.getvalue())
    partition = dest_dir / PARTITION
    partition.write_text("".join(f"{name} {code}\n" for name, code in zip(names, codes, strict=True)))
    return [archive, partition]
