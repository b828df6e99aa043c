"""Flickr8k (Hodosh, Young and Hockenmaier, 2013): 8,091 photos, five captions each, 6k / 1k / 1k split.

The release is Jason Brownlee's copy of the two official archives: `Flickr8k_Dataset.zip`
(the photos, in `Flicker8k_Dataset/`, sic) and `Flickr8k_text.zip` (`Flickr8k.token.txt`, one
`<image>.jpg#<k>\\t<caption>` line per caption, and the split lists `Flickr_8k.trainImages.txt`,
`Flickr_8k.devImages.txt`, `Flickr_8k.testImages.txt`). md5s from third-party loaders (no sha256
is published). Files are read from the archives without unpacking them; a pre-staged
`Flicker8k_Dataset/` folder is accepted instead of the photo archive.

Preparation: the captions of every split (`captions.pt`: image names and their five captions,
as the token file writes them) and, for the splits whose images are used (`train`, `test`; the
seed leaves `dev` unused), each photo resized to `size` x `size` (both sides, bilinear, no crop,
as the transfer chapter's images) and stored as uint8 [N, 3, size, size] with `y` = the image's
row in its split. The VGG16 features of these images are extracted once (`reprolab.features`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, ImageDraw

from reprolab.data.fixtures import is_fixture
from reprolab.data.sources import RemoteFile
from reprolab.errors import DataError

BASE = "https://github.com/jbrownlee/Datasets/releases/download/Flickr8k/"
IMAGES_ZIP, TEXT_ZIP = "Flickr8k_Dataset.zip", "Flickr8k_text.zip"
IMAGES_FOLDER = "Flicker8k_Dataset"  # sic: the archive's spelling
FILES: tuple[RemoteFile, ...] = (
    RemoteFile(IMAGES_ZIP, (BASE + IMAGES_ZIP,), md5="f18a1e2920de5bd84dae7cf08ec78978",
               folder=IMAGES_FOLDER),
    RemoteFile(TEXT_ZIP, (BASE + TEXT_ZIP,), md5="bf6c1abcb8e4a833b7f922104de18627"),
)
TOKEN_FILE = "Flickr8k.token.txt"
SPLIT_FILES = {"train": "Flickr_8k.trainImages.txt", "dev": "Flickr_8k.devImages.txt",
               "test": "Flickr_8k.testImages.txt"}
SPLIT_SIZES = {"train": 6000, "dev": 1000, "test": 1000}
CAPTIONS_PER_IMAGE = 5
SIZE = 224
IMAGE_SPLITS = ("train", "test")  # the splits whose photos are prepared (dev: unused by the seed)
TOKEN_LINE = re.compile(r"^(?P<image>[^#\t]+)#(?P<k>\d+)\t(?P<caption>.*)$")
log = logging.getLogger(__name__)


def _member(zf: zipfile.ZipFile, name: str) -> str:
    """The member of `zf` whose file name is `name`, wherever it sits (no `__MACOSX` copies)."""
    found = [m for m in zf.namelist() if PurePosixPath(m).name == name and "__MACOSX" not in m]
    if not found:
        raise DataError(f"{zf.filename} has no {name}; is it Flickr8k's {TEXT_ZIP}?")
    return found[0]


def read_token_file(text: str) -> dict[str, list[str]]:
    """`Flickr8k.token.txt` -> {image name: its captions in the order of their `#k`}."""
    captions: dict[str, dict[int, str]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = TOKEN_LINE.match(line)
        if match is None:
            raise DataError(f"{TOKEN_FILE} line {number}: {line[:80]!r} is not `<image>#<k>\\t<caption>`")
        captions.setdefault(match["image"], {})[int(match["k"])] = match["caption"].strip()
    return {image: [found[k] for k in sorted(found)] for image, found in captions.items()}


def read_text_release(path: Path) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The captions of every image and the image names of each split, from `Flickr8k_text.zip`."""
    with zipfile.ZipFile(path) as zf:
        captions = read_token_file(zf.read(_member(zf, TOKEN_FILE)).decode("utf-8"))
        splits = {split: [line.strip() for line in zf.read(_member(zf, name)).decode("utf-8").splitlines()
                          if line.strip()] for split, name in SPLIT_FILES.items()}
    return captions, splits


@contextlib.contextmanager
def photo_reader(raw_dir: Path) -> Iterator[Callable[[str], bytes]]:
    """A function reading one photo's bytes by name, from the archive or a pre-staged folder."""
    archive, folder = Path(raw_dir) / IMAGES_ZIP, Path(raw_dir) / IMAGES_FOLDER
    if archive.is_file():
        with zipfile.ZipFile(archive) as zf:
            members = {PurePosixPath(m).name: m for m in zf.namelist()
                       if m.lower().endswith(".jpg") and "__MACOSX" not in m}

            def read(name: str) -> bytes:
                if name not in members:
                    raise DataError(f"{archive} has no photo {name}: delete {raw_dir} and download it again")
                return zf.read(members[name])

            yield read
    elif folder.is_dir():
        yield lambda name: (folder / name).read_bytes()
    else:
        raise DataError(f"{raw_dir} holds neither {IMAGES_ZIP} nor {IMAGES_FOLDER}/: run the download step "
                        f"again, or pre-stage one of them (data.prestaged_dir)")


def load_photo(data: bytes, size: int) -> np.ndarray:
    """uint8 [3, size, size]: a photo in RGB, resized on both sides (bilinear, no crop)."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB").resize((size, size), Image.BILINEAR), dtype=np.uint8
                          ).transpose(2, 0, 1)


def prepare(raw_dir: Path, size: int = SIZE) -> dict[str, dict]:
    """`train` and `test` photos (uint8 [N, 3, size, size], `y` = row in the split) and `captions`:
    {split: {"names": [...], "captions": [[five captions], ...]}} for train, dev and test."""
    import torch  # here, not with the module: the jobs writing fixtures run no torch

    raw_dir = Path(raw_dir)
    captions, splits = read_text_release(raw_dir / TEXT_ZIP)
    fixture = is_fixture(raw_dir)
    for split, names in splits.items():
        missing = [n for n in names if len(captions.get(n, [])) != CAPTIONS_PER_IMAGE]
        if missing:
            raise DataError(f"{TEXT_ZIP}: {len(missing)} image(s) of the {split} split without exactly "
                            f"{CAPTIONS_PER_IMAGE} captions (first: {missing[0]}); download it again")
        if not fixture and len(names) != SPLIT_SIZES[split]:
            raise DataError(f"{SPLIT_FILES[split]} lists {len(names)} images, Flickr8k's {split} split has "
                            f"{SPLIT_SIZES[split]}: delete {raw_dir} and download it again")
    prepared: dict[str, dict] = {"captions": {
        split: {"names": names, "captions": [captions[n] for n in names]} for split, names in splits.items()}}
    with photo_reader(raw_dir) as read:
        for split in IMAGE_SPLITS:
            names = splits[split]
            images = np.empty((len(names), 3, size, size), dtype=np.uint8)
            for row, name in enumerate(names):
                try:
                    images[row] = load_photo(read(name), size)
                except OSError as e:
                    raise DataError(f"cannot decode Flickr8k photo {name} of {raw_dir}: {e}") from e
            prepared[split] = {"x": torch.from_numpy(images), "y": torch.arange(len(names))}
    log.info("Flickr8k: %s images, %s captions; photos of %s resized to %d x %d",
             {s: len(n) for s, n in splits.items()}, sum(len(c) for c in captions.values()),
             ", ".join(IMAGE_SPLITS), size, size)
    return prepared


# ------------------------------------------------------------------------------------------ fixture

# Caption words: from the GloVe fixture's vocabulary (reprolab.data.assets.vectors) where they can,
# so that the word vectors mean something at smoke scale; the verbs are not in it, as the real
# captions have words GloVe lacks.
COLOURS = {"red": (200, 40, 40), "blue": (40, 60, 200), "green": (40, 160, 60), "yellow": (230, 210, 40),
           "black": (20, 20, 20), "white": (235, 235, 235), "brown": (120, 80, 40)}
SUBJECTS = ("dog", "cat", "horse", "bird", "man", "woman", "son", "daughter")
PLACES = {"snow": (225, 230, 240), "sea": (30, 90, 160), "shore": (200, 180, 120), "rain": (110, 120, 130)}
VERBS = ("runs", "plays", "sits", "jumps", "stands")
TEMPLATES = ("A {colour} {subject} {verb} in the {place} .", "The {subject} is {colour} .",
             "A {subject} {verb} near the {place} .",
             "Two {subject}s and a {colour} {subject2} in the {place} .",
             "A {colour} {subject} with a {subject2} on the {place} .")
SEED_TEST_IMAGE = ("452419961_6d42ab7000.jpg", "Three children in a black dog kennel .")  # seed 002, TP 5


def fixture_photo(colour: str, place: str, rng: np.random.Generator) -> Image.Image:
    """A small RGB 'photo' (40-64 px a side): the place's colour as background, a blob of the subject's
    colour at a random spot, noise."""
    h, w = (int(v) for v in rng.integers(40, 65, size=2))
    pixels = np.array(PLACES[place], dtype=np.float32) + rng.normal(0, 12, (h, w, 3))
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    x, y = int(rng.integers(0, w // 2)), int(rng.integers(0, h // 2))
    ImageDraw.Draw(image).ellipse((x, y, x + w // 2, y + h // 2), fill=COLOURS[colour])
    return image


def _name(rng: np.random.Generator) -> str:
    return f"{rng.integers(10**8, 4 * 10**9)}_{rng.integers(16**9, 16**10):010x}.jpg"


def write_fixture(dest_dir: Path, n_train: int, n_test: int, rng: np.random.Generator) -> list[Path]:
    """The two archives in the release's layout: `Flickr8k_Dataset.zip` (`Flicker8k_Dataset/*.jpg`) and
    `Flickr8k_text.zip` (token file and split lists). One photo per ten requested examples (each has
    five captions; the photos go through VGG16): `n_train // 10` train, `n_test // 10` test and as
    many dev photos; the first test photo is the seed's, with its caption."""
    dest_dir = Path(dest_dir)
    counts = {"train": max(2, n_train // 10), "dev": max(2, n_test // 10), "test": max(2, n_test // 10)}
    splits: dict[str, list[str]] = {}
    tokens, photos = [], {}
    for split, count in counts.items():
        names = []
        for i in range(count):
            name = SEED_TEST_IMAGE[0] if (split, i) == ("test", 0) else _name(rng)
            colour, place = rng.choice(list(COLOURS)), rng.choice(list(PLACES))
            subjects = rng.choice(SUBJECTS, size=2, replace=False)
            for k in range(CAPTIONS_PER_IMAGE):
                caption = rng.choice(TEMPLATES).format(colour=colour, place=place, subject=subjects[0],
                                                       subject2=subjects[1], verb=rng.choice(VERBS))
                if (split, i, k) == ("test", 0, 0):
                    caption = SEED_TEST_IMAGE[1]
                tokens.append(f"{name}#{k}\t{caption}")
            photos[name] = fixture_photo(colour, place, rng)
            names.append(name)
        splits[split] = names
    # As the real token file: captions of a name that is no photo of the archive (and in no split)
    tokens.append(f"{splits['train'][0]}.1#0\tA caption of a photo that is not in the archive .")
    images_zip, text_zip = dest_dir / IMAGES_ZIP, dest_dir / TEXT_ZIP
    with zipfile.ZipFile(images_zip, "w") as zf:
        for name, photo in photos.items():
            buffer = io.BytesIO()
            photo.save(buffer, format="JPEG", quality=90)
            zf.writestr(f"{IMAGES_FOLDER}/{name}", buffer.getvalue())
    with zipfile.ZipFile(text_zip, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(TOKEN_FILE, "\n".join(tokens) + "\n")
        for split, file in SPLIT_FILES.items():
            zf.writestr(file, "\n".join(splits[split]) + "\n")
    return [images_zip, text_zip]
