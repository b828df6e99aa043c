"""The five AV-MNIST networks and the audio CNN: sizes computed from the models, shapes, modalities."""

import pytest
import torch

from reprolab.models import build_model, count_parameters

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


def test_audio_cnn_fits_the_spectrogram_size():
    model = build_model("audio_cnn", n_mels=32, width=64)
    assert model(torch.rand(2, 1, 32, 64)).shape == (2, 10)
    assert count_parameters(build_model("audio_cnn")) == 160 + 4_640 + 32 * 10 * 32 * 10 + 10
