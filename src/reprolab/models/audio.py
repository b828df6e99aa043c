"""Networks of the `audio` chapter (seed 000 ex. 2): a small CNN over log-mel spectrograms."""

from torch import nn

from reprolab.models import Classifier, register


@register("audio_cnn")
def audio_cnn(n_mels: int = 40, width: int = 128, channels: tuple[int, int] = (16, 32),
              classes: int = 10) -> Classifier:
    """2 conv layers (3x3, each + ReLU and 2x2 max pooling) and one linear layer.

    `n_mels` x `width` is the spectrogram size set by `data.prepare.fsdd` (the linear layer's input).
    """
    first, second = channels
    body = nn.Sequential(
        nn.Conv2d(1, first, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(first, second, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
    )
    return Classifier(body, nn.Linear(second * (n_mels // 4) * (width // 4), classes))
