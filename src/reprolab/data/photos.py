"""Photos to show ImageNet networks, and the names of ImageNet's 1,000 classes, offline.

The default photos are real ones that ship inside packages the pipeline installs anyway:
matplotlib's portrait of Grace Hopper (U.S. Navy, public domain) and scikit-learn's two sample
photos (a Chinese temple and a flower, both CC BY 2.0, Flickr). A folder of the user's own photos
(jpg or png) replaces them. The class names are torchvision's, from the weights' metadata: no
file is downloaded. Each bundled photo has the ImageNet class of what it shows (`BUNDLED_CLASSES`, our
labels); `photo_classes` gives every photo its class: one from the config, else its own label, else the
network's top-1 prediction.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from reprolab.errors import ConfigError, DataError

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")


@dataclass(frozen=True)
class Photo:
    name: str
    image: np.ndarray  # uint8 [H, W, 3]
    source: str  # where it comes from, and its licence
    label: int | None = None  # the ImageNet class of what it shows, when known


def _matplotlib_sample(name: str) -> np.ndarray:
    import matplotlib.cbook

    with Image.open(matplotlib.cbook.get_sample_data(name, asfileobj=False)) as image:
        return np.asarray(image.convert("RGB"))


def _sklearn_sample(name: str) -> np.ndarray:
    """scikit-learn's sample image `name`, read from its installed file as `load_sample_image` does,
    without importing scikit-learn (a second per job)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        raise DataError("scikit-learn is not installed: its sample photos are the default photos")
    with Image.open(Path(spec.origin).parent / "datasets" / "images" / name) as image:
        return np.asarray(image.convert("RGB"))


# name -> (loader, file, source and licence)
BUNDLED = {
    "grace_hopper": (_matplotlib_sample, "grace_hopper.jpg",
                     "matplotlib sample data: Grace Hopper, U.S. Navy photograph (public domain)"),
    "china": (_sklearn_sample, "china.jpg",
              "scikit-learn sample image: a Chinese temple, by danielbuechele on Flickr (CC BY 2.0)"),
    "flower": (_sklearn_sample, "flower.jpg",
               "scikit-learn sample image: a flower, by vultilion on Flickr (CC BY 2.0)"),
}


# The ImageNet class of each bundled photo (our labels; ImageNet has no class for a dahlia: the nearest
# flower class). Indices into `imagenet_categories()`.
BUNDLED_CLASSES = {"grace_hopper": 652, "china": 698, "flower": 985}  # military uniform, palace, daisy


def bundled_photos() -> list[Photo]:
    """The default photos, from matplotlib's and scikit-learn's installed data."""
    return [Photo(name, load(file), source, BUNDLED_CLASSES.get(name))
            for name, (load, file, source) in BUNDLED.items()]


def folder_photos(folder: Path) -> list[Photo]:
    """Every jpg or png of `folder`, in name order (the user's own photos)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"photos: {folder} is not a folder; give a folder of jpg or png files, or null "
                          f"for the bundled photos")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
    if not paths:
        raise ConfigError(f"photos: {folder} holds no jpg or png file")
    photos = []
    for path in paths:
        try:
            with Image.open(path) as image:
                photos.append(Photo(path.stem, np.asarray(image.convert("RGB")), f"{path} (user's photo)"))
        except OSError as e:
            raise DataError(f"cannot read photo {path}: {e}") from e
    return photos


def sample_photos(folder: Path | str | None = None) -> list[Photo]:
    """The user's photos in `folder`, or the bundled ones."""
    return folder_photos(Path(folder)) if folder else bundled_photos()


def imagenet_categories() -> list[str]:
    """The 1,000 ImageNet class names, in output order, from torchvision's weights metadata."""
    import torchvision

    return list(torchvision.models.VGG16_Weights.IMAGENET1K_V1.meta["categories"])


def photo_classes(photos: list[Photo], classes: int | dict | None, top1: list[int]) -> list[tuple[int, str]]:
    """Each photo's ImageNet class and where it comes from: `classes` from the config (one id for every
    photo, or `{photo name: id}`), else the photo's own label, else the network's top-1 prediction."""
    chosen = []
    for photo, predicted in zip(photos, top1, strict=True):
        given = classes.get(photo.name) if isinstance(classes, dict) else classes
        if given is not None:
            if not 0 <= int(given) < 1000:
                raise ConfigError(f"classes: {given} for photo {photo.name!r} is not an ImageNet class "
                                  f"(0-999)")
            chosen.append((int(given), "config"))
        elif photo.label is not None:
            chosen.append((photo.label, "photo's label"))
        else:
            chosen.append((int(predicted), "network's top-1"))
    return chosen
