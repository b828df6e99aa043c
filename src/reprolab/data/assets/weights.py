"""Pretrained weights: torchvision's ImageNet checkpoints and the FID's Inception.

torchvision's file names carry the first hex digits of the file's sha256 (what torch.hub
checks); they are the published checksum here. A torch.hub cache
(`$TORCH_HOME/hub/checkpoints/`) holds the same names: point `data.prestaged_dir` at it.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import TYPE_CHECKING

from reprolab.data.sources import Asset, RemoteFile
from reprolab.errors import ConfigError, DataError

if TYPE_CHECKING:
    import torch
    from torch import nn

TORCHVISION = "https://download.pytorch.org/models/"
HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")  # torch.hub's: `<name>-<sha256 prefix>.<ext>`


def hub_file(name: str, base: str = TORCHVISION) -> RemoteFile:
    """A torch.hub weight file, checked against the sha256 prefix in its name."""
    match = HASH_REGEX.search(name)
    if match is None or not match[1]:
        raise ValueError(f"{name!r} carries no sha256 prefix (`<name>-<hex>.pth`)")
    return RemoteFile(name, (base + name,), sha256_prefix=match[1])


ASSETS = (
    Asset("vgg16", "weights", (hub_file("vgg16-397923af.pth"),),
          "VGG16 trained on ImageNet-1k (torchvision IMAGENET1K_V1)"),
    Asset("alexnet", "weights", (hub_file("alexnet-owt-7be5be79.pth"),),
          "AlexNet (one weird trick variant) trained on ImageNet-1k (torchvision IMAGENET1K_V1)"),
    Asset("resnet18", "weights", (hub_file("resnet18-f37072fd.pth"),),
          "ResNet-18 trained on ImageNet-1k (torchvision IMAGENET1K_V1)"),
    Asset("resnet50", "weights", (hub_file("resnet50-0676ba61.pth"),),
          "ResNet-50 trained on ImageNet-1k (torchvision IMAGENET1K_V1)"),
    Asset("squeezenet1_1", "weights", (hub_file("squeezenet1_1-b8a52dc0.pth"),),
          "SqueezeNet 1.1 trained on ImageNet-1k (torchvision IMAGENET1K_V1)"),
    Asset("fid_inception", "weights",
          (RemoteFile("pt_inception-2015-12-05-6726825d.pth",
                      ("https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
                       "pt_inception-2015-12-05-6726825d.pth",),
                      sha256="6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2",
                      size=95_628_359),),
          "Inception-v3 of the FID (pytorch-fid's port of TensorFlow's 2015-12-05 graph)"),
)


def write_fixture(asset: Asset, dest_dir: Path, rng) -> list[Path]:
    """No file: smoke runs build randomly initialised networks (`pretrained_backbone(arch, None)`)."""
    return []


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    """A checkpoint's state dict, read without unpickling code (`weights_only`)."""
    import torch  # here, not with the module: the jobs writing fixtures run no torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, EOFError, RuntimeError, pickle.UnpicklingError) as e:
        raise DataError(f"cannot read weights {path}: {e}; fetch the asset again") from e
    if not isinstance(state, dict):
        raise DataError(f"{path} holds a {type(state).__name__}, not a state dict")
    return state


def pretrained_backbone(arch: str, weights_path: Path | None, seed: int = 0) -> nn.Module:
    """torchvision's `arch` with the weights at `weights_path`, or randomly initialised from `seed`.
    torchvision is imported here, not with the module: downloads and fixtures of assets do not need it."""
    import torch  # here, not with the module: the jobs writing fixtures run no torch
    import torchvision

    if arch not in torchvision.models.list_models(torchvision.models):
        raise ConfigError(f"unknown torchvision architecture {arch!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = torchvision.models.get_model(arch, weights=None)
    if weights_path is not None:
        try:
            model.load_state_dict(load_weights(weights_path))
        except RuntimeError as e:
            raise DataError(f"{weights_path} does not fit torchvision's {arch}: {e}") from e
    return model
