"""The kind registry: every kind is declared once, with its outputs, inputs and resources."""

import pytest
import yaml

from reprolab import kinds, paths
from reprolab.config import check_config
from reprolab.errors import ConfigError
from reprolab.registry import resolve, variants
from tests.conftest import REPO


@pytest.fixture
def config():
    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_every_kind_of_the_config_is_registered_with_importable_functions(config):
    for kind in {v.kind for v in variants(config)}:
        declared = kinds.get(kind)
        assert callable(kinds.resolve_function(declared.job)), kind
        assert callable(kinds.resolve_function(declared.summarize)), kind


def test_unknown_kind_lists_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown kind 'untangle'; known kinds: .*untangling"):
        kinds.get("untangle")


def test_train_outputs_are_per_seed_and_take_the_gpu(config):
    variant = resolve(config, "mnist", "keras_style", "cnn")
    train = kinds.get("train")
    assert kinds.output_paths(train, variant, 0) == {
        "metrics": "results/mnist/keras_style/cnn/seed0/metrics.json",
        "history": "results/mnist/keras_style/cnn/seed0/history.csv",
        "model": "results/mnist/keras_style/cnn/seed0/model.pt"}
    assert train.uses_gpu(variant) and train.resources == "train"
    assert not train.uses_gpu(resolve(config, "backprop", "mnist", "mlp_optim"))  # device: cpu


def test_outputs_follow_the_variant_settings(config):
    scratch = kinds.get("scratch")
    circle = kinds.output_paths(scratch, resolve(config, "backprop", "circle", "manual"))
    assert circle["boundary"] == "results/backprop/circle/manual/boundary.png"
    assert "seed0_metrics" in circle and "images" not in circle
    grid = kinds.output_paths(scratch, resolve(config, "backprop", "mnist", "logreg_manual"))
    assert "images" in grid and "boundary" not in grid


def test_untangling_reads_the_model_of_the_variant_it_names(config):
    variant = resolve(config, "mnist", "untangling", "cnn_penultimate")
    inputs = kinds.get("untangling").inputs(variant, config)
    assert inputs["model"] == f"{paths.seed_dir('mnist/keras_style/cnn', 0)}/model.pt"
    raw = kinds.get("untangling").inputs(resolve(config, "mnist", "untangling", "raw"), config)
    assert "model" not in raw


def test_a_named_asset_is_read_through_its_manifest(config):
    """The rule that fetches an asset makes its manifest (last): that file, not the folder, is the input."""
    defaults = config["chapters"]["audio"]["experiments"]["spectrogram_cnn"]["defaults"]
    defaults["assets"] = ["vgg16", "glove6b"]
    inputs = kinds.prepared_data(resolve(config, "audio", "spectrogram_cnn", "cnn"), config)
    assert inputs["asset_vgg16"] == paths.asset_manifest("data", "vgg16") == "data/assets/vgg16/manifest.json"
    assert inputs["asset_glove6b"] == "data/assets/glove6b/manifest.json"
    assert all(isinstance(path, str) for path in inputs.values())  # run_kind passes each as one path


def test_config_check_names_the_key_of_a_wrong_kind(config):
    config["chapters"]["audio"]["experiments"]["spectrogram_cnn"]["variants"]["cnn"] = {"kind": "trian"}
    key = r"chapters\.audio\.experiments\.spectrogram_cnn\.variants\.cnn\.kind"
    with pytest.raises(ConfigError, match=key + r": unknown kind 'trian'; known kinds: .*train"):
        check_config(config, REPO / "config.schema.yaml")


def test_config_check_accepts_the_shipped_config_and_preset(config):
    check_config(config, REPO / "config.schema.yaml")
    from reprolab.registry import deep_merge

    check_config(deep_merge(config, yaml.safe_load((REPO / "presets/smoke.yaml").read_text())),
                 REPO / "config.schema.yaml")
