"""Features of pretrained backbones, extracted once per (backbone, layer, dataset).

`features/<backbone>/<layer>/<dataset>.pt` (`reprolab.paths.features`) holds
`{split: {"x": float16 [N, D], "y": labels}}`; every consumer (linear probes, SVMs, retrieval)
reads it instead of running the backbone again.

Images are uint8 [N, 1 or 3, H, W]: grayscale is duplicated to RGB, every image resized to
224 x 224 (bilinear, antialiased; config `features.size`, smaller at smoke scale, where the
backbones are randomly initialised anyway) and normalised with ImageNet's statistics, batch by
batch on the device. A forward hook on the layer's module catches its output.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm

from reprolab.atomic import load_torch, save_torch
from reprolab.data.assets.weights import pretrained_backbone
from reprolab.engine import select_device
from reprolab.errors import ConfigError, DataError

SIZE = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
LAYERS = {  # backbone -> layer -> the module whose (flattened) output is the feature
    "vgg16": {"relu7": "classifier.4"},  # 4096: the ReLU after the second fully-connected layer
    "alexnet": {"relu7": "classifier.5"},  # 4096
    "resnet18": {"avgpool": "avgpool"},  # 512
    "resnet50": {"avgpool": "avgpool"},  # 2048
}
MIN_SIZE = {"alexnet": 63}  # the smallest side a backbone takes (its pooling needs 1 x 1 left); others: 32
log = logging.getLogger(__name__)


def layer_module(backbone: str, layer: str) -> str:
    """The name of the module of `backbone` whose output is `layer`."""
    try:
        return LAYERS[backbone][layer]
    except KeyError:
        known = "; ".join(f"{b}: {', '.join(layers)}" for b, layers in LAYERS.items())
        raise ConfigError(f"no layer {layer!r} for backbone {backbone!r}; known: {known}") from None


def to_rgb(images: torch.Tensor, size: int = SIZE) -> torch.Tensor:
    """uint8 [N, 1 or 3, H, W] -> float RGB in [0, 1], [N, 3, size, size] (grayscale duplicated)."""
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] not in (1, 3):
        raise DataError(f"features need uint8 images [N, 1 or 3, H, W], got {images.dtype} "
                        f"{list(images.shape)}")
    x = F.interpolate(images.float() / 255, size=(size, size), mode="bilinear", antialias=True)
    return x.expand(-1, 3, -1, -1)


def preprocess(images: torch.Tensor, size: int = SIZE) -> torch.Tensor:
    """`to_rgb`, then ImageNet normalisation: the input torchvision's pretrained weights expect."""
    x = to_rgb(images, size)
    mean = x.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = x.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (x - mean) / std


@torch.no_grad()
def extract_features(model: nn.Module, module: str, images: torch.Tensor, batch_size: int,
                     device: torch.device, size: int = SIZE) -> torch.Tensor:
    """The flattened output of `model`'s `module` for every image (resized to `size`): float16 [N, D]
    on the CPU."""
    model.eval().to(device)
    caught = {}
    hook = model.get_submodule(module).register_forward_hook(lambda _m, _i, out: caught.update(out=out))
    parts = []
    try:
        for start in tqdm(range(0, len(images), batch_size), desc=module, unit="batch", disable=None):
            x = preprocess(images[start:start + batch_size].to(device), size)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                model(x)
            parts.append(caught["out"].flatten(1).to("cpu", torch.float16))
    finally:
        hook.remove()
    return torch.cat(parts)


def extract_dataset(backbone: str, layer: str, splits: dict[str, Path], out_path: Path,
                    weights_path: Path | None = None, device: str = "auto", batch_size: int = 64,
                    seed: int = 0, size: int = SIZE) -> Path:
    """Features of every prepared split (`{split: path}`), saved as `{split: {"x", "y"}}`, the images
    resized to `size` x `size`, or to the smallest side the backbone takes (`MIN_SIZE`) if larger.

    Without `weights_path` (smoke preset) the backbone is randomly initialised from `seed`.
    """
    module = layer_module(backbone, layer)
    if size < MIN_SIZE.get(backbone, 0):
        log.info("%s takes images of %d x %d at least: %d x %d asked, %d used", backbone,
                 MIN_SIZE[backbone], MIN_SIZE[backbone], size, size, MIN_SIZE[backbone])
        size = MIN_SIZE[backbone]
    model = pretrained_backbone(backbone, weights_path, seed)
    log.info("%s weights: %s", backbone, weights_path or f"none, randomly initialised (seed {seed})")
    target = select_device(device)
    features = {}
    for split, path in splits.items():
        data = load_torch(path, f"delete {Path(path).parent} and prepare it again")
        features[split] = {"x": extract_features(model, module, data["x"], batch_size, target, size),
                           "y": data["y"]}
        log.info("%s %s of %s (%s) at %d x %d: %s on %s", backbone, layer, split, path, size, size,
                 list(features[split]["x"].shape), target)
    save_torch(features, out_path)
    return Path(out_path)
