"""Networks of the `fusion` chapter (seed 001): unimodal LeNets and three fusions on AV-MNIST.

Every model takes the dict `{"image": [N, 1, 28, 28], "audio": [N, 1, 112, 112]}`.
"""

from __future__ import annotations

import torch
from torch import nn

from reprolab.models import Classifier, register

# LeNet convolution stages, (out channels, kernel, padding), each + activation + 2x2 max pooling.
IMAGE_STAGES = ((6, 5, 2), (16, 5, 0))  # 28 -> 14 -> 5: 16 x 5 x 5 = 400 features (LeNet-5)
AUDIO_STAGES = ((6, 5, 2), (16, 5, 0), (32, 5, 0), (32, 3, 0))  # 112 -> 56 -> 26 -> 11 -> 4: 512
IMAGE_FEATURES, AUDIO_FEATURES = 16 * 5 * 5, 32 * 4 * 4


class Pick(nn.Module):
    """One modality of the inputs (a dict), alone."""

    def __init__(self, key: str):
        super().__init__()
        self.key = key

    def forward(self, x: dict[str, torch.Tensor]) -> torch.Tensor:
        return x[self.key]


class Concat(nn.Module):
    """One encoder per modality; their flattened outputs concatenated (late/intermediate fusion)."""

    def __init__(self, **encoders: nn.Module):
        super().__init__()
        self.encoders = nn.ModuleDict(encoders)

    def forward(self, x: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat([enc(x[key]).flatten(1) for key, enc in self.encoders.items()], dim=1)


class StackOnGrid(nn.Module):
    """Early fusion of the raw inputs: the spectrogram average-pooled to the image's grid,
    stacked with the image as a second channel."""

    def forward(self, x: dict[str, torch.Tensor]) -> torch.Tensor:
        image = x["image"]
        audio = nn.functional.adaptive_avg_pool2d(x["audio"], image.shape[-2:])
        return torch.cat([image, audio], dim=1)


def lenet_stack(stages: tuple[tuple[int, int, int], ...], in_channels: int = 1,
                activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """LeNet's convolution part: conv + activation + 2x2 max pooling per stage, then flatten."""
    layers: list[nn.Module] = []
    for out_channels, kernel, padding in stages:
        layers += [nn.Conv2d(in_channels, out_channels, kernel, padding=padding), activation(),
                   nn.MaxPool2d(2)]
        in_channels = out_channels
    return nn.Sequential(*layers, nn.Flatten())


def lenet_head(in_features: int, classes: int = 10, activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """LeNet-5's fully connected part: in -> 120 -> 84 -> classes."""
    return nn.Sequential(nn.Linear(in_features, 120), activation(), nn.Linear(120, 84), activation(),
                         nn.Linear(84, classes))


def multibench_lenet(in_channels: int, channels: int, additional_layers: int) -> nn.Sequential:
    """MultiBench's `LeNet(in, channels, k)`: conv 5x5 (no bias) + BN + ReLU + max pool, then k
    conv 3x3 layers doubling the channels (same blocks), then global max pooling.

    The last block leaves 1 x 1 maps on AV-MNIST (28 / 2^4 and 112 / 2^6, floored), so the global
    pooling equals MultiBench's squeeze; weights use MultiBench's Kaiming-uniform init.
    """
    def block(cin: int, cout: int, kernel: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False), nn.BatchNorm2d(cout),
                nn.ReLU(), nn.MaxPool2d(2)]

    layers = block(in_channels, channels, 5)
    for i in range(additional_layers):
        layers += block(channels * 2**i, channels * 2 ** (i + 1), 3)
    encoder = nn.Sequential(*layers, nn.AdaptiveMaxPool2d(1), nn.Flatten())
    for m in encoder.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_uniform_(m.weight)
    return encoder


@register("image_lenet5")
def image_lenet5(classes: int = 10) -> Classifier:
    """LeNet-5 on the images alone. The 28 x 28 images."""
    body = nn.Sequential(Pick("image"), lenet_stack(IMAGE_STAGES))
    return Classifier(body, lenet_head(IMAGE_FEATURES, classes))


@register("audio_lenet")
def audio_lenet(classes: int = 10) -> Classifier:
    """A LeNet on the spectrograms alone. Two more conv stages for the 112 x 112 spectrograms."""
    body = nn.Sequential(Pick("audio"), lenet_stack(AUDIO_STAGES))
    return Classifier(body, lenet_head(AUDIO_FEATURES, classes))


@register("early_fusion")
def early_fusion(classes: int = 10) -> Classifier:
    """Early fusion: one LeNet-5 over both inputs stacked as two channels.

    The raw inputs on the 28 x 28 grid (no FC at the input).
    """
    return Classifier(nn.Sequential(StackOnGrid(), lenet_stack(IMAGE_STAGES, in_channels=2)),
                      lenet_head(IMAGE_FEATURES, classes))


@register("intermediate_fusion")
def intermediate_fusion(classes: int = 10) -> Classifier:
    """Intermediate fusion: the two unimodal conv stacks concatenated, one LeNet head.

    Flattened latents concatenated, trained jointly.
    """
    body = Concat(image=lenet_stack(IMAGE_STAGES), audio=lenet_stack(AUDIO_STAGES))
    return Classifier(body, lenet_head(IMAGE_FEATURES + AUDIO_FEATURES, classes))


@register("multibench_concat")
def multibench_concat(channels: int = 6, hidden: int = 100, classes: int = 10) -> Classifier:
    """MultiBench's AV-MNIST concatenation baseline.

    LeNet(1, 6, 3) on images, LeNet(1, 6, 5) on audio, concatenation, MLP(240, 100, 10)
    (260,922 parameters).
    """
    body = Concat(image=multibench_lenet(1, channels, 3), audio=multibench_lenet(1, channels, 5))
    width = channels * (2**3 + 2**5)
    return Classifier(body, nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, classes)))
