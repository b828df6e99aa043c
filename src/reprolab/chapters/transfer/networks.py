"""The ImageNet networks of the chapter, described from the built models (`reprolab.architecture`).

Layers get the names of the original (Caffe) models, which the course uses: `conv1_1` ... `conv5_3`,
`pool1` ... `pool5`, `fc6`, `relu7` (the ReLU after `fc7`, the features of 15-Scene), `fc8` for
VGG16; `conv1` ... `conv5` for AlexNet. ResNet-50's 170-odd layers are summed up per stage.
"""

from __future__ import annotations

import functools
from dataclasses import asdict

import torch
from torch import nn

from reprolab.architecture import Layer, example_input, layers

INPUT = [3, 224, 224]
NAMED = ("Conv2d", "MaxPool2d", "Linear", "ReLU", "Dropout", "AdaptiveAvgPool2d")


def caffe_names(walk: list[Layer], blocks: bool) -> list[str]:
    """The original models' layer names, in call order: with `blocks` (VGG) convolutions are
    numbered per block (`conv3_2`) and pooling closes a block; else one count (`conv3`)."""
    names, block, in_block, convs, fcs, drops, last = [], 1, 0, 0, 5, 0, ""
    for layer in walk:
        if layer.kind == "Conv2d":
            convs, in_block = convs + 1, in_block + 1
            last = f"{block}_{in_block}" if blocks else str(convs)
            names.append(f"conv{last}")
        elif layer.kind == "Linear":
            fcs += 1
            last = str(fcs)
            names.append(f"fc{last}")
        elif layer.kind == "ReLU":
            names.append(f"relu{last}")
        elif layer.kind == "MaxPool2d":
            names.append(f"pool{block if blocks else convs}")
            block, in_block = block + 1, 0
        elif layer.kind == "Dropout":
            drops += 1
            names.append(f"dropout{drops}")
        elif layer.kind == "AdaptiveAvgPool2d":
            names.append("avgpool")
        else:
            names.append(layer.name)
    return names


def build(arch: str) -> nn.Module:
    """torchvision's `arch` on the meta device: its architecture alone, without memory for its weights
    nor the time to initialise them (shapes and parameter counts are all a description needs)."""
    import torchvision

    with torch.device("meta"):
        return torchvision.models.get_model(arch, weights=None)


def describe(model: nn.Module, arch: str) -> list[dict]:
    """The layers `model` calls on one 224 x 224 image, as dicts (`architecture.Layer` fields, plus
    `label`: the original model's name for VGG and AlexNet, the module path otherwise)."""
    walk = layers(model, example_input(INPUT).to(next(model.parameters()).device))
    labels = caffe_names(walk, blocks=arch.startswith("vgg")) if arch.startswith(("vgg", "alexnet")) \
        else [layer.name for layer in walk]
    return [{**asdict(layer), "label": label} for layer, label in zip(walk, labels, strict=True)]


@functools.cache
def described(arch: str) -> tuple[dict, ...]:
    """`describe` of torchvision's `arch` (randomly initialised), built once per process."""
    return tuple(describe(build(arch), arch))


def depth(layers) -> int:
    """Convolutional and fully connected layers: VGG16's 16, AlexNet's 8."""
    return sum(layer["kind"] in ("Conv2d", "Linear") for layer in layers)


def stages(described: list[dict]) -> list[dict]:
    """Layers summed per top-level module (ResNet: conv1, bn1, relu, maxpool, layer1-4, avgpool,
    fc): the number of layers, their parameters, the output shape and receptive field of the last."""
    grouped: dict[str, dict] = {}
    for layer in described:
        top = layer["name"].split(".")[0]
        entry = grouped.setdefault(top, {"stage": top, "layers": 0, "params": 0})
        entry["layers"] += 1
        entry["params"] += layer["params"]
        entry["output_shape"] = layer["output_shape"]
        entry["receptive_field"] = layer["receptive_field"]
    return list(grouped.values())


def shape_text(shape) -> str:
    return " × ".join(str(s) for s in shape)


def field_text(field) -> str:
    return "whole image" if field is None else f"{field[0]} × {field[1]}"
