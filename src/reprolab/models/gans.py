"""Networks of the `gans` chapter (seed 003 TP 9-10): DCGAN, conditional DCGAN and conditional MLP GAN.

Each builder returns a `GAN` (`reprolab.engine.tasks.adversarial`): a `generator` mapping noise
[N, nz] (and labels) to images in [-1, 1], and a `discriminator` mapping images (and labels) to
one logit per image; the sigmoid of the course's discriminators is in the loss (binary
cross-entropy on logits: the same function, without overflow). Conditional networks take the
labels as class indices [N] or one-hot rows [N, classes]. Weights start as DCGAN's: convolutions
and linear layers N(0, 0.02), batch-norm scales N(1, 0.02), biases 0.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from reprolab.engine.tasks.adversarial import GAN
from reprolab.errors import ConfigError
from reprolab.models import register

SLOPE = 0.2  # LeakyReLU's negative slope in every discriminator


def _leaky() -> nn.Module:
    return nn.LeakyReLU(SLOPE)


def init_weights(model: nn.Module) -> nn.Module:
    """DCGAN's initialisation: weights N(0, 0.02), batch-norm scales N(1, 0.02), biases 0."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.normal_(module.weight, 0.0, 0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
            nn.init.normal_(module.weight, 1.0, 0.02)
            nn.init.zeros_(module.bias)
    return model


def one_hot(labels: torch.Tensor, classes: int) -> torch.Tensor:
    """Class indices [N] -> one-hot float rows [N, classes]; one-hot rows are returned as floats."""
    if labels.dim() == 1:
        return F.one_hot(labels.long(), classes).float()
    return labels.float()


def _blocks(image_size: int) -> int:
    """The stride-2 stages between 4x4 and `image_size` (a power of two, at least 8)."""
    stages = math.log2(image_size) - 2
    if image_size < 8 or stages != int(stages):
        raise ConfigError(f"dcgan: image_size {image_size} must be a power of two, at least 8")
    return int(stages)


class DCGANGenerator(nn.Module):
    """Noise [N, nz] -> images [N, channels, size, size] in [-1, 1]."""

    def __init__(self, nz: int, ngf: int, channels: int, image_size: int):
        super().__init__()
        self.nz = nz
        n = _blocks(image_size)
        width = ngf * 2 ** (n - 1)
        layers: list[nn.Module] = [nn.ConvTranspose2d(nz, width, 4, 1, 0, bias=False), nn.BatchNorm2d(width),
                                   nn.ReLU()]
        for _ in range(n - 1):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width // 2),
                       nn.ReLU()]
            width //= 2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(len(z), self.nz, 1, 1))


class DCGANDiscriminator(nn.Module):
    """Images [N, channels, size, size] -> logits [N, 1, 1, 1]."""

    def __init__(self, ndf: int, channels: int, image_size: int):
        super().__init__()
        n = _blocks(image_size)
        layers: list[nn.Module] = [nn.Conv2d(channels, ndf, 4, 2, 1, bias=False), _leaky()]
        width = ndf
        for _ in range(n - 1):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width * 2),
                       _leaky()]
            width *= 2
        layers.append(nn.Conv2d(width, 1, 4, 1, 0, bias=False))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@register("dcgan")
def dcgan(image_size: int = 64, nz: int = 100, ngf: int = 64, ndf: int = 64, channels: int = 3) -> GAN:
    """DCGAN, the deep convolutional GAN (Radford et al., 2016).

    G: a 4x4 transposed convolution from the noise, then stride-2 4x4 transposed convolutions
    halving the channels (batch norm, ReLU) up to `image_size`, tanh out; D mirrors it with stride-2
    4x4 convolutions doubling the channels (batch norm but on the first, LeakyReLU 0.2), then a 4x4
    convolution to one logit. No biases. At 64x64 with nz 100 and ngf = ndf = 64: 3,576,704 +
    2,765,568 parameters.
    """
    return GAN(init_weights(DCGANGenerator(nz, ngf, channels, image_size)),
               init_weights(DCGANDiscriminator(ndf, channels, image_size)))


class Concat(nn.Module):
    """One branch per input (a dict), their outputs concatenated along the channels."""

    def __init__(self, **branches: nn.Module):
        super().__init__()
        self.branches = nn.ModuleDict(branches)

    def forward(self, x: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat([branch(x[key]) for key, branch in self.branches.items()], dim=1)


class ConditionalGenerator(nn.Module):
    """Noise [N, nz] and labels -> images: a branch for each, concatenated, then a trunk."""

    def __init__(self, nz: int, noise: nn.Module, labels: nn.Module, trunk: nn.Module, classes: int,
                 spatial: bool):
        super().__init__()
        self.nz, self.classes, self.spatial = nz, classes, spatial
        self.inputs = Concat(noise=noise, label=labels)
        self.trunk = trunk

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        y = one_hot(labels, self.classes)
        if self.spatial:  # transposed convolutions start from 1x1 maps
            z, y = z.view(len(z), -1, 1, 1), y.view(len(y), -1, 1, 1)
        return self.trunk(self.inputs({"noise": z, "label": y}))


class ConditionalDiscriminator(nn.Module):
    """Images and labels -> logits: a branch for each, concatenated, then a trunk."""

    def __init__(self, image: nn.Module, labels: nn.Module, trunk: nn.Module, classes: int, spatial: bool):
        super().__init__()
        self.classes, self.spatial = classes, spatial
        self.inputs = Concat(image=image, label=labels)
        self.trunk = trunk

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        y = one_hot(labels, self.classes)
        if self.spatial:  # the one-hot label broadcast to a map of the image's size per class
            y = y.view(len(y), -1, 1, 1).expand(-1, -1, *x.shape[-2:])
        return self.trunk(self.inputs({"image": x, "label": y}))


class Inputs(nn.Module):
    """A conditional network called on a dict `{first: ..., "label": ...}` (for the method's layer
    tables, which run a network on one example)."""

    def __init__(self, net: nn.Module, first: str):
        super().__init__()
        self.net, self.first = net, first

    def forward(self, x: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.net(x[self.first], x["label"])


@register("cdcgan")
def cdcgan(nz: int = 100, width: int = 128, classes: int = 10, channels: int = 1) -> GAN:
    """The course's conditional DCGAN (cDCGAN) for 32x32 digits.

    G: noise and one-hot label each through a 4x4 transposed convolution to 2·width maps of 4x4
    (batch norm, ReLU), concatenated, then stride-2 4x4 transposed convolutions to 2·width, width and
    1 channel (8, 16, 32 px; batch norm, ReLU; tanh out). D: the image and the label broadcast to
    10x32x32 each through a stride-2 4x4 convolution to width/2 maps (LeakyReLU 0.2), concatenated,
    then stride-2 convolutions to 2·width and 4·width (batch norm, LeakyReLU) and a 4x4 convolution
    to one logit. Biases everywhere, as in the public copies of the course's code.
    """
    g = ConditionalGenerator(
        nz,
        nn.Sequential(nn.ConvTranspose2d(nz, 2 * width, 4, 1, 0), nn.BatchNorm2d(2 * width), nn.ReLU()),
        nn.Sequential(nn.ConvTranspose2d(classes, 2 * width, 4, 1, 0), nn.BatchNorm2d(2 * width), nn.ReLU()),
        nn.Sequential(nn.ConvTranspose2d(4 * width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width), nn.ReLU(),
                      nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.BatchNorm2d(width), nn.ReLU(),
                      nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh()),
        classes, spatial=True)
    d = ConditionalDiscriminator(
        nn.Sequential(nn.Conv2d(channels, width // 2, 4, 2, 1), _leaky()),
        nn.Sequential(nn.Conv2d(classes, width // 2, 4, 2, 1), _leaky()),
        nn.Sequential(nn.Conv2d(width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width), _leaky(),
                      nn.Conv2d(2 * width, 4 * width, 4, 2, 1), nn.BatchNorm2d(4 * width), _leaky(),
                      nn.Conv2d(4 * width, 1, 4, 1, 0)),
        classes, spatial=True)
    return GAN(init_weights(g), init_weights(d))


def _mlp(sizes: list[int], activation: type[nn.Module], batchnorm: bool) -> list[nn.Module]:
    """Linear layers between consecutive `sizes`, each + batch norm (when asked) + the activation."""
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes, sizes[1:], strict=False):
        layers += [nn.Linear(n_in, n_out), *([nn.BatchNorm1d(n_out)] if batchnorm else []), activation()]
    return layers


@register("cgan_mlp")
def cgan_mlp(nz: int = 100, image_size: int = 32, classes: int = 10, channels: int = 1,
             g_widths: tuple[int, ...] = (256, 512, 1024),
             d_widths: tuple[int, ...] = (1024, 512, 256)) -> GAN:
    """The course's conditional fully connected GAN (cGAN) for 32x32 digits.

    G: noise and one-hot label each through a linear layer to g_widths[0] units (batch norm, ReLU),
    concatenated, then linear layers to the next widths (batch norm, ReLU) and to the image's pixels
    (tanh out). D: the flattened image and the label each through a linear layer to d_widths[0]
    units (LeakyReLU 0.2), concatenated, then linear layers to the next widths (batch norm,
    LeakyReLU) and to one logit.
    """
    pixels = channels * image_size * image_size
    g_first, d_first = g_widths[0], d_widths[0]
    g = ConditionalGenerator(
        nz, nn.Sequential(*_mlp([nz, g_first], nn.ReLU, True)),
        nn.Sequential(*_mlp([classes, g_first], nn.ReLU, True)),
        nn.Sequential(*_mlp([2 * g_first, *g_widths[1:]], nn.ReLU, True),
                      nn.Linear(g_widths[-1], pixels), nn.Tanh(),
                      nn.Unflatten(1, (channels, image_size, image_size))),
        classes, spatial=False)
    d = ConditionalDiscriminator(
        nn.Sequential(nn.Flatten(), *_mlp([pixels, d_first], _leaky, False)),
        nn.Sequential(*_mlp([classes, d_first], _leaky, False)),
        nn.Sequential(*_mlp([2 * d_first, *d_widths[1:]], _leaky, True),
                      nn.Linear(d_widths[-1], 1)),
        classes, spatial=False)
    return GAN(init_weights(g), init_weights(d))
