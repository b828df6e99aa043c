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


@pytest.mark.parametrize("name", ["logreg", "mlp", "keras_cnn", "dropout_cnn"])
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
