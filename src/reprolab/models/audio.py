"""Networks of the `audio` chapter (seed 000 ex. 2): a small CNN over log-mel spectrograms."""

from torch import nn

from reprolab.models import Classifier, register


@register("audio_cnn")
def audio_cnn(n_mels: int = 40, width: int = 128, channels: tuple[int, int] = (16, 32), pool: bool = False,
              classes: int = 10) -> Classifier:
    """A two-convolution CNN on log-mel spectrograms.

    The seed's network: 2 conv layers (3x3, padding 1), each + ReLU, and one linear layer.

    `pool` adds 2x2 max pooling after each ReLU (our variant; the seed has none). `n_mels` x `width`
    is the spectrogram size set by `data.prepare.fsdd` (the linear layer's input).
    """
    layers: list[nn.Module] = []
    for c_in, c_out in ((1, channels[0]), channels):
        layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU()] + ([nn.MaxPool2d(2)] if pool else [])
    shrink = 4 if pool else 1
    body = nn.Sequential(*layers, nn.Flatten())
    return Classifier(body, nn.Linear(channels[1] * (n_mels // shrink) * (width // shrink), classes))
