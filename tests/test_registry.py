import pytest
import yaml

from reprolab.errors import ConfigError
from reprolab.registry import deep_merge, order_like, resolve, variants
from tests.conftest import REPO


@pytest.fixture
def config():
    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_deep_merge_overrides_key_by_key():
    base = {"optimizer": {"name": "sgd", "lr": 0.1}, "epochs": 20}
    merged = deep_merge(base, {"optimizer": {"lr": 1.0}})
    assert merged == {"optimizer": {"name": "sgd", "lr": 1.0}, "epochs": 20}
    assert base["optimizer"]["lr"] == 0.1  # the defaults are not mutated


def test_variant_gets_experiment_defaults_and_run_wide_settings(config):
    v = resolve(config, "mnist", "dropout_split", "main_3")
    assert v.id == "mnist/dropout_split/main_3"
    assert v.params["swap_splits"] is True
    assert v.params["model_options"] == {"dropout": False}
    assert v.params["optimizer"]["name"] == "adadelta"
    assert v.kind == "train" and v.seeds == [0] and v.device == "auto"


def test_max_epochs_caps_every_variant(config):
    config["max_epochs"] = 2
    assert {v.params["epochs"] for v in variants(config, kind="train")} == {2}


def test_compile_is_asked_run_wide_or_per_variant(config):
    assert config["compile"] is False
    assert not any("compile" in v.params for v in variants(config))  # eager runs: params unchanged
    config["chapters"]["cifar"]["experiments"]["cifar10"]["variants"]["baseline"] = {"compile": True}
    assert [v.id for v in variants(config) if v.params.get("compile")] == ["cifar/cifar10/baseline"]
    config["compile"] = True
    assert all(v.params["compile"] for v in variants(config, kind="train"))


def test_unknown_id_says_what_exists(config):
    with pytest.raises(ConfigError, match="unknown experiment id mnist/keras_style/nope"):
        resolve(config, "mnist", "keras_style", "nope")


def test_catalogue_lists_every_mnist_variant(config):
    ids = [v.id for v in variants(config, "mnist")]
    assert len(ids) == 10
    assert ids[0] == "mnist/keras_style/logreg" and ids[-1] == "mnist/untangling/cnn_penultimate"


def test_order_like_restores_reference_order():
    overlay_first = {"b": {"y": 1, "x": 2}, "a": 0}
    assert list(order_like(overlay_first, {"a": 0, "b": {"x": 0, "y": 0}})) == ["a", "b"]
    assert list(order_like(overlay_first, {"a": 0, "b": {"x": 0, "y": 0}})["b"]) == ["x", "y"]
