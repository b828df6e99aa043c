"""The layer walk behind the report's method tables: shapes, parameters, receptive fields."""

import pytest
import torch
from torch import nn

from reprolab.architecture import example_input, input_shape, layers
from reprolab.models import build_model, count_parameters

AVMNIST = {"image": [1, 28, 28], "audio": [1, 112, 112]}


MODELS = [("cifar_cnn", [3, 32, 32]), ("keras_cnn", [1, 28, 28]), ("mlp", [784]), ("audio_cnn", [1, 40, 128]),
          ("intermediate_fusion", AVMNIST), ("multibench_concat", AVMNIST)]


@pytest.mark.parametrize(("name", "shape"), MODELS)
def test_layer_parameters_add_up_to_the_model(name, shape):
    model = build_model(name)
    assert sum(layer.params for layer in layers(model, example_input(shape))) == count_parameters(model)


def test_cifar_network_output_shapes_and_receptive_fields():
    found = {layer.name: layer for layer in layers(build_model("cifar_cnn"), example_input([3, 32, 32]))}
    convs_and_pools = [layer for layer in found.values() if layer.kind in ("Conv2d", "MaxPool2d")]
    assert [layer.output_shape for layer in convs_and_pools] == [
        (32, 32, 32), (32, 16, 16), (64, 16, 16), (64, 8, 8), (64, 8, 8), (64, 4, 4)]
    assert [layer.receptive_field[0] for layer in convs_and_pools] == [5, 6, 14, 16, 32, 36]
    fc = [layer for layer in found.values() if layer.kind == "Linear"]
    assert [layer.description for layer in fc] == ["fully connected 1024 → 1000", "fully connected 1000 → 10"]
    assert fc[0].receptive_field is None


def test_a_new_layer_shows_in_the_walk():
    plain = layers(build_model("cifar_cnn"), example_input([3, 32, 32]))
    with_bn = layers(build_model("cifar_cnn", batchnorm=True), example_input([3, 32, 32]))
    assert len(with_bn) == len(plain) + 3
    assert sum("batch normalisation" in layer.description for layer in with_bn) == 3


def test_the_walk_leaves_the_model_as_it_was():
    model = nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.5), nn.Identity())
    model.train()
    found = layers(model, torch.zeros(1, 4))
    assert model.training and not any(m._forward_hooks for m in model.modules())
    assert [layer.kind for layer in found] == ["Linear", "Dropout"]  # Identity placeholders are left out


def test_input_shape_of_one_example():
    assert input_shape(torch.zeros(5, 3, 32, 32)) == [3, 32, 32]
    assert input_shape({"image": torch.zeros(5, 1, 28, 28), "audio": torch.zeros(5, 1, 112, 112)}) == AVMNIST
