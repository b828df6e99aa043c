"""Data augmentation batched on the device, with per-sample randomness (variant key `augment`).

Each training batch is augmented as one tensor, one random draw per image: random crops by
gathering per-sample windows, flips with `torch.where`, rotation and colour jitter with kornia's
batched augmentations. No per-sample Python loop, no PIL, no CPU round trip on a GPU (kornia
draws the few per-image parameters on the CPU, from the same seeded generator). Labels are not
touched: only the inputs go through.

`augment: {crop: 28, hflip: true, rotation: 20, color_jitter: 0.3}` (every key optional):
- `crop`: random `crop` x `crop` window (the model centre-crops test images, see `cifar_cnn`);
- `hflip`: horizontal flip with probability 1/2;
- `rotation`: torchvision's `RandomRotation(rotation)`: an angle uniform in [-rotation, rotation]
  degrees about the centre, nearest pixel, black fill;
- `color_jitter`: torchvision's `ColorJitter(j, j, j)` (kornia's `ColorJitter`, not `ColorJiggle`):
  brightness, contrast and saturation factors uniform in [1 - j, 1 + j], applied in a random
  order (one order per batch), contrast and saturation blended with the luma-weighted grey
  0.299 R + 0.587 G + 0.114 B, each step clamped to [0, 1].
Rotation and jitter run on the [0, 1] pixel values: the standardisation is undone, then redone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from reprolab.errors import ConfigError

if TYPE_CHECKING:
    from kornia.augmentation import ColorJitter, RandomRotation

KEYS = ("crop", "hflip", "rotation", "color_jitter")


def random_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    """A random `size` x `size` window of each image of `x` [N, C, H, W]."""
    n, _, h, w = x.shape
    if size > min(h, w):
        raise ConfigError(f"augment.crop={size} is larger than the {h}x{w} images")
    top = torch.randint(0, h - size + 1, (n, 1), device=x.device)
    left = torch.randint(0, w - size + 1, (n, 1), device=x.device)
    span = torch.arange(size, device=x.device)
    rows = (top + span)[:, None, :, None]
    cols = (left + span)[:, None, None, :]
    return x[torch.arange(n, device=x.device)[:, None, None, None],
             torch.arange(x.shape[1], device=x.device)[None, :, None, None], rows, cols]


def random_hflip(x: torch.Tensor) -> torch.Tensor:
    """Each image flipped left-right with probability 1/2."""
    flip = torch.rand(len(x), device=x.device) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def random_rotation(degrees: float) -> RandomRotation:
    """torchvision's `RandomRotation(degrees)`, batched: one angle per image, always applied."""
    from kornia.augmentation import RandomRotation  # here: kornia costs every training job 0.2 s to import

    return RandomRotation(degrees, resample="nearest", p=1.0)


def color_jitter(strength: float) -> ColorJitter:
    """torchvision's `ColorJitter(strength, strength, strength)`, batched: factors per image."""
    from kornia.augmentation import ColorJitter  # here: kornia costs every training job 0.2 s to import

    return ColorJitter(brightness=strength, contrast=strength, saturation=strength, p=1.0)


class Augment:
    """The configured augmentations, applied to a batch of normalised inputs.

    `normalizer` (the variant's `Normalizer`) tells how to undo the standardisation for the
    rotation and colour jitter; it is read at call time, so it may be moved to the device afterwards.
    """

    def __init__(self, settings: dict, normalizer: nn.Module | None = None):
        unknown = set(settings) - set(KEYS)
        if unknown:
            raise ConfigError(f"unknown augment keys {sorted(unknown)}; known: {', '.join(KEYS)}")
        self.settings = dict(settings)
        self.normalizer = normalizer
        self.rotation = random_rotation(float(settings["rotation"])) if settings.get("rotation") else None
        self.jitter = color_jitter(float(settings["color_jitter"])) if settings.get("color_jitter") else None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        s = self.settings
        if s.get("crop"):
            x = random_crop(x, int(s["crop"]))
        if s.get("hflip"):
            x = random_hflip(x)
        if self.rotation is not None or self.jitter is not None:
            mean, std = (getattr(self.normalizer, "mean", None), getattr(self.normalizer, "std", None))
            pixels = x if mean is None else x * std + mean
            if self.rotation is not None:
                pixels = self.rotation(pixels)
            if self.jitter is not None:
                pixels = self.jitter(pixels)
            x = pixels if mean is None else (pixels - mean) / std
        return x


def make_augment(settings: dict | None, normalizer: nn.Module | None = None) -> Augment | None:
    """The `augment` of a variant (None when it has none)."""
    return Augment(settings, normalizer) if settings else None
