"""Networks of the `mnist` chapter (seed 002 TP 2, PyTorch's MNIST example)."""

from torch import nn

from reprolab.models import Classifier, register


@register("logreg")
def logreg(in_features: int = 784, classes: int = 10) -> Classifier:
    """Logistic regression. One linear layer, softmax in the loss (7,850 parameters)."""
    return Classifier(nn.Flatten(), nn.Linear(in_features, classes))


@register("mlp")
def mlp(in_features: int = 784, hidden: int = 100, classes: int = 10) -> Classifier:
    """A one-hidden-layer perceptron with sigmoid units. 784-100-10 (79,510 parameters)."""
    body = nn.Sequential(nn.Flatten(), nn.Linear(in_features, hidden), nn.Sigmoid())
    return Classifier(body, nn.Linear(hidden, classes))


@register("keras_cnn")
def keras_cnn(classes: int = 10) -> Classifier:
    """The CNN of the Keras exercises.

    conv5x5x16-relu-pool2-conv5x5x32-relu-pool2-fc100(sigmoid)-fc10, Keras 'valid' padding.
    """
    body = nn.Sequential(
        nn.Conv2d(1, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 4 * 4, 100), nn.Sigmoid(),
    )
    return Classifier(body, nn.Linear(100, classes))


@register("dropout_cnn")
def dropout_cnn(dropout: bool = True, classes: int = 10) -> Classifier:
    """The CNN of PyTorch's MNIST example. Dropout optional (`dropout`)."""
    def drop(p):
        return nn.Dropout(p) if dropout else nn.Identity()

    body = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        drop(0.25), nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), drop(0.5),
    )
    return Classifier(body, nn.Linear(128, classes))
