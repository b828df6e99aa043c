"""Networks of the `backprop` chapter trained by the generic engine (seed 004 TME 3-4)."""

from torch import nn

from reprolab.models import Classifier, register


@register("tanh_mlp")
def tanh_mlp(in_features: int = 784, hidden: int = 100, classes: int = 10) -> Classifier:
    """The TME's one-hidden-layer tanh network.

    With torch.nn: linear, tanh, linear (softmax in the loss).
    """
    body = nn.Sequential(nn.Flatten(), nn.Linear(in_features, hidden), nn.Tanh())
    return Classifier(body, nn.Linear(hidden, classes))
