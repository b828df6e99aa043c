"""Networks of the `cifar` chapter (seed 004 TME 5-6): the CIFAR-10 network, one builder with options,
and LeNet-5 with tanh, the network of the TME's provided MNIST code."""

from __future__ import annotations

from torch import nn

from reprolab.models import Classifier, register
from reprolab.models.fusion import IMAGE_FEATURES, IMAGE_STAGES, lenet_head, lenet_stack


class CenterCrop(nn.Module):
    """Centre crop (the test images of augmented variants); inputs of the crop's size pass unchanged.

    Randomly cropped training batches (augmentation) are already `size` wide; full-size test
    images get the centre crop, as the course's `CenterCrop` transform at test time does.
    """

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def forward(self, x):
        top, left = (x.shape[-2] - self.size) // 2, (x.shape[-1] - self.size) // 2
        return x[..., top:top + self.size, left:left + self.size]


@register("cifar_cnn")
def cifar_cnn(in_channels: int = 3, input_size: int = 32, batchnorm: bool = False,
              dropout: float = 0.0, classes: int = 10) -> Classifier:
    """The TME's CIFAR-10 CNN.

    conv 32/64/64 5x5 pad 2 (+ BN) + ReLU + maxpool 2, fc4 1000 + ReLU, fc5; dropout before fc.
    """
    layers: list[nn.Module] = [CenterCrop(input_size)]
    channels = [in_channels, 32, 64, 64]
    for c_in, c_out in zip(channels, channels[1:], strict=False):
        layers.append(nn.Conv2d(c_in, c_out, 5, padding=2))
        if batchnorm:
            layers.append(nn.BatchNorm2d(c_out))
        layers += [nn.ReLU(), nn.MaxPool2d(2, 2)]
    side = input_size // 8
    drop = nn.Dropout(dropout) if dropout else nn.Identity()
    body = nn.Sequential(*layers, nn.Flatten(), drop, nn.Linear(64 * side * side, 1000), nn.ReLU(), drop)
    return Classifier(body, nn.Linear(1000, classes))


@register("lenet5_tanh")
def lenet5_tanh(classes: int = 10) -> Classifier:
    """LeNet-5 with tanh.

    61,706 parameters: conv 6 5x5 pad 2, maxpool 2, conv 16 5x5, maxpool, fc 400-120-84, fc 84-10;
    tanh after every layer but the last. The body gives the 400 conv features.
    """
    body = lenet_stack(IMAGE_STAGES, activation=nn.Tanh)
    return Classifier(body, lenet_head(IMAGE_FEATURES, classes, activation=nn.Tanh))
