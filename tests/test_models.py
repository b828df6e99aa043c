import pytest
import torch

from reprolab.errors import ConfigError
from reprolab.models import build_model, count_parameters


@pytest.mark.parametrize("name, options, expected", [
    ("logreg", {}, 7_850),
    ("mlp", {}, 79_510),
    ("dropout_cnn", {}, 1_199_882),
    ("dropout_cnn", {"dropout": False}, 1_199_882),
])
def test_parameter_counts(name, options, expected):
    assert count_parameters(build_model(name, **options)) == expected


@pytest.mark.parametrize("name", ["logreg", "mlp", "keras_cnn", "dropout_cnn", "lenet5_tanh"])
def test_mnist_models_map_images_to_ten_logits(name):
    assert build_model(name)(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_dropout_option_removes_dropout_layers():
    with_dropout = build_model("dropout_cnn")
    without = build_model("dropout_cnn", dropout=False)
    assert any(isinstance(m, torch.nn.Dropout) for m in with_dropout.modules())
    assert not any(isinstance(m, torch.nn.Dropout) for m in without.modules())


def test_unknown_model_and_option_are_config_errors():
    with pytest.raises(ConfigError, match="unknown model 'resnet9000'"):
        build_model("resnet9000")
    with pytest.raises(ConfigError, match="does not accept options"):
        build_model("mlp", depth=3)


def test_lenet5_tanh_is_the_tme_mnist_network():
    model = build_model("lenet5_tanh")
    conv = [5 * 5 * 1 * 6 + 6, 5 * 5 * 6 * 16 + 16]
    fc = [400 * 120 + 120, 120 * 84 + 84, 84 * 10 + 10]
    assert count_parameters(model) == sum(conv + fc) == 61_706
    x, shapes = torch.zeros(3, 1, 28, 28), []
    for layer in [*model.body, *model.head]:
        x = layer(x)
        shapes.append((type(layer).__name__, tuple(x.shape[1:])))
    assert shapes == [("Conv2d", (6, 28, 28)), ("Tanh", (6, 28, 28)), ("MaxPool2d", (6, 14, 14)),
                      ("Conv2d", (16, 10, 10)), ("Tanh", (16, 10, 10)), ("MaxPool2d", (16, 5, 5)),
                      ("Flatten", (400,)), ("Linear", (120,)), ("Tanh", (120,)), ("Linear", (84,)),
                      ("Tanh", (84,)), ("Linear", (10,))]
    assert not any(isinstance(m, torch.nn.ReLU | torch.nn.BatchNorm2d) for m in model.modules())
