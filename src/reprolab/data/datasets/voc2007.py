"""PASCAL VOC 2007 classification: 20 object classes, several per image (multi-label).

The release is two tar files (torchvision's md5s, tensorflow-datasets' sha256s), each unpacking
into `VOCdevkit/VOC2007/`: `Annotations/<id>.xml` (one `<object>` per object, with its class
`<name>` and a `<difficult>` flag), `ImageSets/Main/<subset>.txt` (the image ids of `trainval`
or `test`) and `<class>_<subset>.txt` (per image: 1, 0 or -1), and `JPEGImages/<id>.jpg`.
The tars are read in place, member by member, never unpacked.

Labels come from the XML annotations, as the devkit makes its `<class>_<subset>.txt` files: an
image is positive for a class (1) when it holds an object of that class not marked difficult,
"difficult" (0) when all its objects of that class are difficult, negative (-1) otherwise; where
the tar has those files, ours must equal them. The course's data generator reads flag 1 as
positive and 0 as negative, so the targets are `flag == 1`; the difficult pairs are kept (`meta`)
so that the report can also give VOC's own protocol, which leaves them out of the evaluation.
"""

from __future__ import annotations

import io
import logging
import tarfile
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
from PIL import Image

from reprolab.data.fixtures import is_fixture
from reprolab.data.sources import RemoteFile, mirrored
from reprolab.errors import DataError

MIRRORS = ("http://host.robots.ox.ac.uk/pascal/VOC/voc2007/", "https://thor.robots.ox.ac.uk/pascal/VOC/voc2007/",
           "https://pjreddie.com/media/files/")
TRAINVAL, TEST = "VOCtrainval_06-Nov-2007.tar", "VOCtest_06-Nov-2007.tar"
FILES: tuple[RemoteFile, ...] = (
    mirrored(TRAINVAL, MIRRORS, md5="c52e279531787c972589f7e41ab4ae64", size=460_032_000,
             sha256="7d8cd951101b0957ddfd7a530bdc8a94f06121cfc1e511bb5937e973020c7508"),
    mirrored(TEST, MIRRORS, md5="b6e924de25625d8de591ea690078ad9f", size=451_020_800,
             sha256="6836888e2e01dca84577a849d339fa4f73e1e4f135d312430c4856b5609b4892"),
)
ROOT = "VOCdevkit/VOC2007"
CLASSES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
           "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
           "tvmonitor")
SPLITS = {"train": (TRAINVAL, "trainval"), "test": (TEST, "test")}  # our split: (tar, VOC image set)
N_IMAGES = {"trainval": 5011, "test": 4952}
POSITIVE, DIFFICULT, NEGATIVE = 1, 0, -1
SIZE = 224
log = logging.getLogger(__name__)


def objects(xml: bytes | str) -> list[tuple[str, bool]]:
    """(class, difficult) of every object of a VOC annotation."""
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as e:
        raise DataError(f"cannot parse a VOC annotation: {e}") from e
    found = []
    for obj in root.iter("object"):
        name = (obj.findtext("name") or "").strip()
        if name not in CLASSES:
            raise DataError(f"VOC annotation {root.findtext('filename')!r} names an unknown class {name!r}")
        found.append((name, (obj.findtext("difficult") or "0").strip() == "1"))
    return found


def flags(xml: bytes | str) -> np.ndarray:
    """int8 [20]: per class, 1 (an object not marked difficult), 0 (difficult objects only) or -1."""
    out = np.full(len(CLASSES), NEGATIVE, dtype=np.int8)
    for name, difficult in objects(xml):
        c = CLASSES.index(name)
        out[c] = max(out[c], DIFFICULT if difficult else POSITIVE)
    return out


def read_image_set(text: str) -> list[str]:
    """The ids of `ImageSets/Main/<subset>.txt`, in file order."""
    return [line.split()[0] for line in text.splitlines() if line.strip()]


def read_class_flags(text: str) -> dict[str, int]:
    """`ImageSets/Main/<class>_<subset>.txt`: id -> 1, 0 or -1."""
    return {parts[0]: int(parts[1]) for line in text.splitlines() if (parts := line.split())}


def resized_rgb(data: bytes, size: int) -> np.ndarray:
    """uint8 [3, size, size]: an image resized to size x size (bilinear, both sides, no crop)."""
    with Image.open(io.BytesIO(data)) as image:
        rgb = image.convert("RGB").resize((size, size), Image.BILINEAR)
    return np.asarray(rgb, dtype=np.uint8).transpose(2, 0, 1)


def read_split(tar_path: Path, subset: str, size: int, limit: int | None = None,
               expected: int | None = None) -> dict:
    """One image set of a VOC tar: images, 0/1 targets, flags per class, ids, in the set's order.
    `expected`: the number of images the set must have (the release's)."""
    import torch  # here, not with the module: the jobs writing fixtures run no torch

    try:
        tf = tarfile.open(tar_path)
    except (OSError, tarfile.TarError) as e:
        raise DataError(f"cannot open {tar_path}: {e}; delete it and download it again") from e
    with tf:
        members = {m.name.removeprefix("./"): m for m in tf.getmembers() if m.isfile()}

        def read(name: str) -> bytes:
            member = members.get(f"{ROOT}/{name}")
            if member is None:
                raise DataError(f"{tar_path} has no {ROOT}/{name}; is it the VOC 2007 release?")
            return tf.extractfile(member).read()

        ids = read_image_set(read(f"ImageSets/Main/{subset}.txt").decode())
        if expected is not None and len(ids) != expected:
            raise DataError(f"{tar_path} lists {len(ids)} images in {subset}, VOC 2007 has {expected}: "
                            f"delete it and download it again")
        ids = ids[:limit]
        table = np.stack([flags(read(f"Annotations/{i}.xml")) for i in ids])
        for c, name in enumerate(CLASSES):  # the devkit's own label files, where the tar has them
            if f"{ROOT}/ImageSets/Main/{name}_{subset}.txt" in members:
                published = read_class_flags(read(f"ImageSets/Main/{name}_{subset}.txt").decode())
                wrong = [i for i, flag in zip(ids, table[:, c], strict=True) if published.get(i) != flag]
                if wrong:
                    raise DataError(f"{tar_path}: the annotations of {len(wrong)} image(s) (first "
                                    f"{wrong[0]}) disagree with ImageSets/Main/{name}_{subset}.txt")
        images = np.empty((len(ids), 3, size, size), dtype=np.uint8)
        for row, i in enumerate(ids):
            try:
                images[row] = resized_rgb(read(f"JPEGImages/{i}.jpg"), size)
            except OSError as e:
                raise DataError(f"cannot decode {ROOT}/JPEGImages/{i}.jpg of {tar_path}: {e}") from e
    return {"x": torch.from_numpy(images), "y": torch.from_numpy((table == POSITIVE).astype(np.uint8)),
            "flags": torch.from_numpy(table), "ids": ids}


def prepare(raw_dir: Path, size: int = SIZE, limit: dict | None = None) -> dict[str, dict]:
    """`train` (trainval) and `test`: uint8 images [N, 3, size, size] and uint8 targets [N, 20]
    (1: the class is in the image, an object not marked difficult); `meta`: classes, ids, and the
    (image, class) pairs with difficult objects only (flag 0).

    `limit: {train: k, test: k}` keeps the first k images of each set (small runs only).
    """
    splits, meta = {}, {"classes": list(CLASSES), "size": size, "ids": {}, "difficult": {}, "flags": {}}
    for split, (tar_name, subset) in SPLITS.items():
        path = Path(raw_dir) / tar_name
        if not path.is_file():
            raise DataError(f"{path} is missing: run the download step again, or pre-stage {tar_name} "
                            f"(data.prestaged_dir)")
        data = read_split(path, subset, size, (limit or {}).get(split),
                          None if is_fixture(raw_dir) else N_IMAGES[subset])
        splits[split] = {"x": data["x"], "y": data["y"]}
        meta["ids"][split] = data["ids"]
        meta["flags"][split] = data["flags"]
        meta["difficult"][split] = data["flags"] == DIFFICULT
        log.info("VOC 2007 %s: %d images, %d positive and %d difficult-only (image, class) pairs", subset,
                 len(data["ids"]), int(data["y"].sum()), int(meta["difficult"][split].sum()))
    return {**splits, "meta": meta}


# The fixture: each class drawn as a rectangle of its own colour (hues around the circle).
_COLOURS = [tuple(int(v) for v in Image.new("HSV", (1, 1), (int(255 * c / len(CLASSES)), 220, 230))
                  .convert("RGB").getpixel((0, 0))) for c in range(len(CLASSES))]


def annotation_xml(image_id: str, width: int, height: int, objs: list[tuple[str, bool, tuple]]) -> str:
    """A VOC 2007 annotation in the release's layout (objects: class, difficult, box)."""
    parts = [f"<annotation>\n\t<folder>VOC2007</folder>\n\t<filename>{image_id}.jpg</filename>\n"
             "\t<source>\n\t\t<database>The VOC2007 Database</database>\n"
             "\t\t<annotation>PASCAL VOC2007</annotation>\n\t\t<image>flickr</image>\n\t</source>\n"
             f"\t<size>\n\t\t<width>{width}</width>\n\t\t<height>{height}</height>\n\t\t<depth>3</depth>\n"
             "\t</size>\n\t<segmented>0</segmented>\n"]
    for name, difficult, (x0, y0, x1, y1) in objs:
        parts.append(f"\t<object>\n\t\t<name>{name}</name>\n\t\t<pose>Unspecified</pose>\n"
                     f"\t\t<truncated>0</truncated>\n\t\t<difficult>{int(difficult)}</difficult>\n"
                     f"\t\t<bndbox>\n\t\t\t<xmin>{x0}</xmin>\n\t\t\t<ymin>{y0}</ymin>\n"
                     f"\t\t\t<xmax>{x1}</xmax>\n\t\t\t<ymax>{y1}</ymax>\n\t\t</bndbox>\n\t</object>\n")
    return "".join(parts) + "</annotation>\n"


def _fixture_image(rng: np.random.Generator) -> tuple[bytes, int, int, list[tuple[str, bool, tuple]]]:
    width, height = int(rng.integers(56, 81)), int(rng.integers(40, 65))
    pixels = rng.normal(110, 25, (height, width, 3))
    objs = []
    for _ in range(int(rng.integers(1, 4))):
        c = int(rng.integers(len(CLASSES)))
        x0, y0 = int(rng.integers(0, width // 2)), int(rng.integers(0, height // 2))
        x1, y1 = x0 + int(rng.integers(12, width // 2 + 1)), y0 + int(rng.integers(12, height // 2 + 1))
        pixels[y0:y1, x0:x1] = _COLOURS[c]
        difficult = bool(rng.random() < 0.15)
        objs.append((CLASSES[c], difficult, (x0 + 1, y0 + 1, x1, y1)))  # VOC boxes are 1-based
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue(), width, height, objs


def _add(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(f"{ROOT}/{name}")
    info.size = len(data)
    tf.addfile(info, io.BytesIO(data))


def write_fixture(dest_dir: Path, n_train: int, n_test: int, rng: np.random.Generator) -> list[Path]:
    """The two release tars, `VOCdevkit/VOC2007/...` with XML annotations (some objects marked
    difficult), the image sets and per-class label files, and jpg images of coloured boxes."""
    paths = []
    numbers = {"trainval": [2 * k + 2 for k in range(n_train)], "test": [2 * k + 1 for k in range(n_test)]}
    for tar_name, subset in ((TRAINVAL, "trainval"), (TEST, "test")):
        ids = [f"{k:06d}" for k in numbers[subset]]
        path = Path(dest_dir) / tar_name
        with tarfile.open(path, "w") as tf:
            table = []
            for image_id in ids:
                jpg, width, height, objs = _fixture_image(rng)
                xml = annotation_xml(image_id, width, height, objs)
                _add(tf, f"Annotations/{image_id}.xml", xml.encode())
                _add(tf, f"JPEGImages/{image_id}.jpg", jpg)
                row = np.full(len(CLASSES), NEGATIVE)
                for name, difficult, _ in objs:
                    c = CLASSES.index(name)
                    row[c] = max(row[c], DIFFICULT if difficult else POSITIVE)
                table.append(row)
            _add(tf, f"ImageSets/Main/{subset}.txt", "".join(f"{i}\n" for i in ids).encode())
            for c, name in enumerate(CLASSES):
                lines = "".join(f"{i} {int(row[c]):2d}\n" for i, row in zip(ids, table, strict=True))
                _add(tf, f"ImageSets/Main/{name}_{subset}.txt", lines.encode())
        paths.append(path)
    return paths
