"""The `cifar` chapter: the network's parameter count, augmentation, the CIFAR-10 files, the report."""

from __future__ import annotations

import json
import tarfile

import numpy as np
import pytest
import torch
import yaml
from conftest import REPO

from reprolab.augment import make_augment, random_crop
from reprolab.chapters.cifar.report import layer_parameters
from reprolab.data.datasets import cifar10
from reprolab.data.fixtures import write_fixture
from reprolab.engine import Normalizer
from reprolab.errors import ConfigError, DataError
from reprolab.models import build_model, count_parameters
from reprolab.registry import resolve, variants


def conv(c_in, c_out, k=5):
    return k * k * c_in * c_out + c_out


def test_parameter_count_is_computed_from_the_layers():
    fc5 = 1000 * 10 + 10
    convs = conv(3, 32) + conv(32, 64) + conv(64, 64)
    assert count_parameters(build_model("cifar_cnn")) == convs + (64 * 4 * 4 * 1000 + 1000) + fc5 == 1_191_170
    cropped = build_model("cifar_cnn", input_size=28)
    assert count_parameters(cropped) == convs + (64 * 3 * 3 * 1000 + 1000) + fc5 == 743_170
    batchnorm = 2 * (32 + 64 + 64)
    assert (count_parameters(build_model("cifar_cnn", input_size=28, batchnorm=True))
            == count_parameters(build_model("cifar_cnn", input_size=28)) + batchnorm)
    mnist = build_model("cifar_cnn", in_channels=1, input_size=28)
    assert count_parameters(mnist) == conv(1, 32) + conv(32, 64) + conv(64, 64) + 576 * 1000 + 1000 + fc5


def test_per_layer_counts_correct_the_seed():
    layers = layer_parameters(build_model("cifar_cnn"))
    assert [k for k in layers] == ["conv1", "pool1", "conv2", "pool2", "conv3", "pool3", "fc4", "fc5"]
    assert layers["pool1"] == layers["pool2"] == layers["pool3"] == 0
    assert layers["fc4"] == 1024 * 1000 + 1000
    refs = yaml.safe_load((REPO / "references.yaml").read_text())["cifar"]["cifar10"]["baseline"]
    seed = next(r for r in refs if r["metric"] == "params")
    assert sum(seed["layers"].values()) == seed["value"]  # the seed's own sum...
    assert sum(layers.values()) != seed["value"]          # ...of wrong per-layer numbers


def test_mnist_baseline_is_the_tme_code_lenet5_tanh():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    params = resolve(config, "cifar", "mnist_baseline", "baseline").params
    assert params["model"] == "lenet5_tanh" and "model_options" not in params
    assert params["batch_size"] == 128 and params["optimizer"] == {"name": "sgd", "lr": 0.1}
    assert not params.get("standardize") and count_parameters(build_model(params["model"])) == 61_706


def test_model_centre_crops_full_size_test_images():
    torch.manual_seed(0)
    model = build_model("cifar_cnn", input_size=28, dropout=0.5, batchnorm=True).eval()
    x = torch.randn(4, 3, 32, 32)
    assert model(x).shape == (4, 10)
    torch.testing.assert_close(model(x), model(x[:, :, 2:30, 2:30]))


def windows_of(image: torch.Tensor, size: int) -> list[tuple[int, int, bool, torch.Tensor]]:
    """Every `size` window of `image`, flipped or not."""
    h, w = image.shape[-2:]
    return [(top, left, flip, win.flip(-1) if flip else win)
            for top in range(h - size + 1) for left in range(w - size + 1)
            for win in [image[:, top:top + size, left:left + size]] for flip in (False, True)]


def test_crop_and_flip_are_per_sample_random_windows_of_each_own_image():
    torch.manual_seed(0)
    x = torch.rand(64, 3, 32, 32)
    out = make_augment({"crop": 28, "hflip": True})(x)
    assert out.shape == (64, 3, 28, 28)
    draws = set()
    for i in range(64):  # label-preserving: output i is a window of input i, nothing else
        found = [(t, lft, f) for t, lft, f, win in windows_of(x[i], 28) if torch.equal(out[i], win)]
        assert len(found) == 1
        draws.add(found[0])
    assert len(draws) > 20  # one draw per image, not one for the whole batch


def test_identical_images_get_different_augmentations():
    torch.manual_seed(1)
    x = torch.rand(1, 3, 32, 32).expand(32, -1, -1, -1).contiguous()
    for settings in ({"crop": 28}, {"hflip": True}, {"rotation": 20}, {"color_jitter": 0.3},
                     {"crop": 28, "rotation": 20, "color_jitter": 0.3}):
        out = make_augment(settings)(x)
        distinct = {tuple(o.flatten()[:64].tolist()) for o in out}
        assert len(distinct) > 1, settings


LUMA = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)


def luma(x: torch.Tensor) -> torch.Tensor:
    return (x * LUMA).sum(1, keepdim=True)


def torchvision_jitter(x: torch.Tensor, brightness, contrast, saturation, order) -> torch.Tensor:
    """torchvision's ColorJitter formulas (adjust_brightness/contrast/saturation), written out."""
    steps = {0: lambda x: (x * brightness).clamp(0, 1),
             1: lambda x: (x * contrast + luma(x).mean((2, 3), keepdim=True) * (1 - contrast)).clamp(0, 1),
             2: lambda x: (x * saturation + luma(x) * (1 - saturation)).clamp(0, 1),
             3: lambda x: x}  # hue: not used
    for i in order:
        x = steps[int(i)](x)
    return x


def test_colour_jitter_is_torchvisions_with_luma_grey_and_random_order():
    torch.manual_seed(3)
    x = torch.rand(64, 3, 28, 28)
    jitter = make_augment({"color_jitter": 0.3}).jitter
    orders = set()
    for _ in range(8):
        params = jitter.forward_parameters(x.shape)
        out = jitter(x, params=params)
        factors = [params[f"{k}_factor"].view(-1, 1, 1, 1) for k in ("brightness", "contrast", "saturation")]
        for f in factors:  # one draw per image, uniform in [0.7, 1.3]
            assert f.min() >= 0.7 and f.max() <= 1.3 and len(set(f.flatten().tolist())) == len(x)
        torch.testing.assert_close(out, torchvision_jitter(x, *factors, params["order"]), atol=1e-5, rtol=0)
        assert (out - x).abs().mean((1, 2, 3)).min() > 1e-3  # every image changed
        orders.add(tuple(params["order"].tolist()))
    assert len(orders) > 1  # a random order of the steps, as torchvision's


def test_saturation_zero_gives_the_luma_weighted_grey():
    torch.manual_seed(4)
    x = torch.rand(8, 3, 16, 16)
    jitter = make_augment({"color_jitter": 0.3}).jitter
    params = jitter.forward_parameters(x.shape)
    params["brightness_factor"].fill_(1)
    params["contrast_factor"].fill_(1)
    params["saturation_factor"].fill_(0)
    out = jitter(x, params=params)
    grey = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    for c in range(3):
        torch.testing.assert_close(out[:, c], grey, atol=1e-5, rtol=0)
    assert (out[:, 0] - x.mean(1)).abs().max() > 0.05  # not the plain channel mean


def test_rotation_turns_each_image_by_its_own_angle_about_its_centre():
    torch.manual_seed(5)
    n, size, r = 32, 29, 10  # a bright 3x3 square `r` right of the centre (14, 14)
    x = torch.zeros(n, 3, size, size)
    x[:, :, 13:16, 13 + r:16 + r] = 1
    rotation = make_augment({"rotation": 20}).rotation
    params = rotation.forward_parameters(x.shape)
    out = rotation(x, params=params)
    angles = params["degrees"]
    assert angles.abs().max() <= 20 and len(set(angles.tolist())) == n  # one draw per image
    for i in range(n):
        rows, cols = out[i, 0].nonzero(as_tuple=True)
        row, col = rows.float().mean(), cols.float().mean()
        a = torch.deg2rad(angles[i])
        # counter-clockwise for a positive angle, as torchvision's (rows grow downwards)
        assert abs(row - (14 - r * a.sin())) <= 1 and abs(col - (14 + r * a.cos())) <= 1, (i, angles[i])
        assert set(out[i].unique().tolist()) <= {0.0, 1.0}  # nearest pixel, as torchvision's default
    ones = rotation(torch.ones(n, 3, size, size), params=params)
    tilted = angles.abs() > 5
    assert (ones[tilted][:, :, 0, 0] == 0).all()  # corners fill with black
    assert (ones[:, :, 14, 14] == 1).all()


def test_rotation_and_jitter_change_the_image_and_keep_its_standardisation():
    torch.manual_seed(2)
    raw = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    normalizer = Normalizer.fit(raw, 1 / 255, standardize=True)
    x = normalizer(raw)
    for settings in ({"color_jitter": 0.3}, {"rotation": 20}, {"rotation": 20, "color_jitter": 0.3}):
        out = make_augment(settings, normalizer)(x)
        assert out.shape == x.shape
        pixels = out * normalizer.std + normalizer.mean
        assert pixels.min() >= -1e-5 and pixels.max() <= 1 + 1e-5, settings  # on [0, 1] values
        changed = (out - x).abs().mean((1, 2, 3)) > 0.1
        assert changed.sum() >= 12, settings  # (a rotation by less than 1 degree may change nothing)
    zero_rotation = make_augment({"rotation": 1e-9}, normalizer)(x)
    torch.testing.assert_close(zero_rotation, x, atol=1e-4, rtol=0)


@pytest.mark.parametrize("variant", ["augmented", "augmented_alt"])
def test_augmentation_is_deterministic_under_the_seed(variant):
    settings = resolve(yaml.safe_load((REPO / "config.yaml").read_text()), "cifar", "cifar10",
                       variant).params["augment"]
    gen = torch.Generator().manual_seed(0)
    raw = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8, generator=gen)
    normalizer = Normalizer.fit(raw, 1 / 255, standardize=True)
    x = normalizer(raw)

    def run(seed):
        torch.manual_seed(seed)
        augment = make_augment(settings, normalizer)
        return torch.cat([augment(x), augment(x)])

    assert torch.equal(run(7), run(7))
    assert not torch.equal(run(7), run(8))


def test_augment_settings_are_checked():
    with pytest.raises(ConfigError, match="unknown augment keys"):
        make_augment({"cutout": 8})
    with pytest.raises(ConfigError, match="larger than"):
        random_crop(torch.zeros(2, 3, 16, 16), 28)
    assert make_augment(None) is None


def test_cifar10_fixture_is_the_real_format_and_is_verified_before_unpickling(tmp_path):
    write_fixture("cifar10", tmp_path, n_train=53, n_test=20)
    with tarfile.open(tmp_path / cifar10.ARCHIVE) as tf:
        names = set(tf.getnames())
    assert {f"cifar-10-batches-py/{n}" for n in
            ["data_batch_1", "data_batch_5", "test_batch", "batches.meta"]} <= names
    splits = cifar10.prepare(tmp_path)
    assert splits["train"]["x"].shape == (53, 3, 32, 32) and splits["train"]["x"].dtype == torch.uint8
    assert splits["test"]["y"].shape == (20,) and set(splits["test"]["y"].tolist()) == set(range(10))
    with open(tmp_path / cifar10.ARCHIVE, "ab") as f:
        f.write(b"tampered")
    with pytest.raises(DataError, match="does not match"):
        cifar10.prepare(tmp_path)


def test_cifar10_release_file_has_the_published_checksums():
    (remote,) = cifar10.FILES
    assert remote.md5 == "c58f30108f718f92721af3b95e74349a"
    assert remote.published_checksum.startswith("sha256:6d958be0")


def test_full_plan_runs_every_cifar_and_backprop_variant_with_the_full_epochs(full_plan_params):
    """Epochs and device as the planned jobs will get them (their params: see tests/plan_params.py)."""
    planned = {job["wildcards"]["id"]: job["params"]["variant"]["params"] for job in full_plan_params
               if job["rule"] != "aggregate_seeds"
               and job["wildcards"].get("id", "").startswith(("cifar/", "backprop/"))}
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    assert set(planned) == {v.id for v in variants(config) if v.chapter in ("cifar", "backprop")}
    assert all(planned[f"cifar/cifar10/{name}"]["epochs"] == 100 for name in
               ["baseline", "normalized", "augmented", "augmented_alt", "momentum_expdecay",
                "momentum_stepdecay", "dropout", "batchnorm"])
    assert planned["backprop/circle/manual"]["epochs"] == 150
    assert all(params["device"] == "cpu" for i, params in planned.items() if i.startswith("backprop"))


def test_smoke_report_has_every_cifar_variant(smoke_run):
    html = (smoke_run / "report" / "report.html").read_text()
    for name in ["baseline", "normalized", "augmented", "augmented_alt", "momentum_expdecay",
                 "momentum_stepdecay", "dropout", "batchnorm"]:
        assert (smoke_run / "results" / "cifar" / "cifar10" / name / "history.csv").is_file()
        assert f"cifar/cifar10/{name}" in html
    assert "cifar/mnist_baseline/baseline" in html
    assert "All variants: test accuracy per epoch" in html
    assert "not the seed&#39;s 267,258" in html or "not the seed's 267,258" in html
    assert "80.16" in html  # the seed's reference beside our final accuracy
    metrics = json.loads((smoke_run / "results/cifar/cifar10/augmented/metrics.json").read_text())
    assert np.isfinite(metrics["test_acc"]) and metrics["params"] == 743_170
