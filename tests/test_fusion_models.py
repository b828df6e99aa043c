"""The five AV-MNIST networks and the audio CNN: sizes computed from the models, shapes, modalities."""

import pytest
import torch
import yaml
from conftest import REPO

from reprolab.engine.optim import make_optimizer
from reprolab.models import build_model, count_parameters
from reprolab.registry import resolve

FUSION = ["image_lenet5", "audio_lenet", "early_fusion", "intermediate_fusion", "multibench_concat"]


def batch(n=4):
    return {"image": torch.rand(n, 1, 28, 28), "audio": torch.rand(n, 1, 112, 112)}


def test_multibench_concat_has_260922_parameters():
    assert count_parameters(build_model("multibench_concat")) == 260_922


def test_multibench_encoders_give_240_features():
    model = build_model("multibench_concat").eval()
    assert model.body(batch()).shape == (4, 240)


@pytest.mark.parametrize("name", FUSION)
def test_every_fusion_model_classifies_the_pair(name):
    assert build_model(name)(batch()).shape == (4, 10)


@pytest.mark.parametrize("name, ignored", [("image_lenet5", "audio"), ("audio_lenet", "image")])
def test_unimodal_models_ignore_the_other_modality(name, ignored):
    model = build_model(name).eval()
    x = batch()
    changed = {**x, ignored: torch.rand_like(x[ignored])}
    assert torch.equal(model(x), model(changed))


@pytest.mark.parametrize("name", ["early_fusion", "intermediate_fusion", "multibench_concat"])
def test_fusion_models_use_both_modalities(name):
    model = build_model(name).eval()
    x = batch()
    for key in ("image", "audio"):
        assert not torch.allclose(model(x), model({**x, key: torch.rand_like(x[key])}))


def test_audio_cnn_is_the_seeds_network_two_convs_relu_one_linear_no_pooling():
    model = build_model("audio_cnn")
    kinds = [type(m).__name__ for m in [*model.body, model.head]]
    assert kinds == ["Conv2d", "ReLU", "Conv2d", "ReLU", "Flatten", "Linear"]
    convs = (3 * 3 * 1 * 16 + 16) + (3 * 3 * 16 * 32 + 32)
    assert count_parameters(model) == convs + 32 * 40 * 128 * 10 + 10 == 1_643_210
    assert model(torch.rand(2, 1, 40, 128)).shape == (2, 10)
    assert build_model("audio_cnn", n_mels=32, width=64)(torch.rand(2, 1, 32, 64)).shape == (2, 10)


def test_audio_cnn_pool_option_adds_pooling_after_each_relu():
    model = build_model("audio_cnn", pool=True)
    kinds = [type(m).__name__ for m in [*model.body, model.head]]
    assert kinds == ["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear"]
    assert count_parameters(model) == 160 + 4_640 + 32 * 10 * 32 * 10 + 10
    assert model(torch.rand(2, 1, 40, 128)).shape == (2, 10)


def test_config_default_audio_cnn_is_the_seeds_and_the_pooled_one_a_named_variant():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    cnn = resolve(config, "audio", "spectrogram_cnn", "cnn").params
    pooled = resolve(config, "audio", "spectrogram_cnn", "cnn_pooled").params
    assert cnn["model"] == pooled["model"] == "audio_cnn"
    assert not cnn.get("model_options", {}).get("pool") and pooled["model_options"] == {"pool": True}


def test_multibench_concat_clips_gradients_at_8_as_multibench_does():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    variant = resolve(config, "fusion", "models", "multibench_concat")
    assert variant.params["optimizer"] == {"name": "sgd", "lr": 0.1, "weight_decay": 0.0001,
                                           "clip_grad_norm": 8.0}
    assert "clip_grad_norm" not in resolve(config, "fusion", "models", "early_fusion").params["optimizer"]
    model = build_model("multibench_concat")
    optimizer = make_optimizer(model, variant.params["optimizer"])
    x = {"image": torch.randn(4, 1, 28, 28) * 100, "audio": torch.randn(4, 1, 112, 112) * 100}
    torch.nn.functional.cross_entropy(model(x), torch.tensor([0, 1, 2, 3])).mul(1e4).backward()
    before = [p.detach().clone() for p in model.parameters()]
    optimizer.step()
    grads = torch.cat([p.grad.flatten() for p in model.parameters()])
    assert grads.norm() == pytest.approx(8.0, rel=1e-4)
    assert any(not torch.equal(a, p) for a, p in zip(before, model.parameters(), strict=True))
