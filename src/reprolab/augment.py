"""Data augmentation batched on the device, with per-sample randomness (variant key `augment`).

Each training batch is augmented as one tensor: random crops by gathering per-sample windows,
flips with `torch.where`, rotations with one `affine_grid`/`grid_sample` call, colour jitter with
per-sample factors. No per-sample Python loop, no PIL, no CPU round trip on a GPU.

`augment: {crop: 28, hflip: true, rotation: 20, color_jitter: 0.3}` (every key optional):
- `crop`: random `crop` x `crop` window (the model centre-crops test images, see `cifar_cnn`);
- `hflip`: horizontal flip with probability 1/2;
- `rotation`: rotation by an angle uniform in [-rotation, rotation] degrees (zero fill);
- `color_jitter`: brightness, contrast and saturation factors uniform in [1 - j, 1 + j],
  applied to the [0, 1] pixel values (the standardisation is undone, then redone).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from reprolab.errors import ConfigError

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


def random_rotation(x: torch.Tensor, degrees: float) -> torch.Tensor:
    """Each image rotated about its centre by its own angle in [-degrees, degrees]."""
    angle = (torch.rand(len(x), device=x.device) * 2 - 1) * math.radians(degrees)
    cos, sin, zero = angle.cos(), angle.sin(), torch.zeros_like(angle)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def color_jitter(x: torch.Tensor, strength: float) -> torch.Tensor:
    """Per-image brightness, contrast and saturation factors in [1 - strength, 1 + strength]."""
    def factor():
        return 1 + (torch.rand(len(x), 1, 1, 1, device=x.device) * 2 - 1) * strength

    x = x * factor()
    gray = x.mean(1, keepdim=True)
    x = gray.mean((2, 3), keepdim=True) + (x - gray.mean((2, 3), keepdim=True)) * factor()
    gray = x.mean(1, keepdim=True)
    x = gray + (x - gray) * factor()
    return x.clamp(0, 1)


class Augment:
    """The configured augmentations, applied to a batch of normalised inputs.

    `normalizer` (the variant's `Normalizer`) tells how to undo the standardisation for the
    colour jitter; it is read at call time, so it may be moved to the device afterwards.
    """

    def __init__(self, settings: dict, normalizer: nn.Module | None = None):
        unknown = set(settings) - set(KEYS)
        if unknown:
            raise ConfigError(f"unknown augment keys {sorted(unknown)}; known: {', '.join(KEYS)}")
        self.settings = dict(settings)
        self.normalizer = normalizer

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        s = self.settings
        if s.get("crop"):
            x = random_crop(x, int(s["crop"]))
        if s.get("hflip"):
            x = random_hflip(x)
        if s.get("rotation"):
            x = random_rotation(x, float(s["rotation"]))
        if s.get("color_jitter"):
            mean, std = (getattr(self.normalizer, "mean", None), getattr(self.normalizer, "std", None))
            pixels = x if mean is None else x * std + mean
            pixels = color_jitter(pixels, float(s["color_jitter"]))
            x = pixels if mean is None else (pixels - mean) / std
        return x


def make_augment(settings: dict | None, normalizer: nn.Module | None = None) -> Augment | None:
    """The `augment` of a variant (None when it has none)."""
    return Augment(settings, normalizer) if settings else None
