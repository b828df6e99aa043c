"""Feature extraction: preprocessing, layer shapes, determinism, the saved file."""

import pytest
import torch
import torchvision
import yaml

from reprolab import paths
from reprolab.data.assets.weights import pretrained_backbone
from reprolab.errors import ConfigError, DataError
from reprolab.features import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    LAYERS,
    extract_dataset,
    extract_features,
    layer_module,
    preprocess,
    to_rgb,
)
from tests.conftest import REPO

CPU = torch.device("cpu")


def gray_images(n, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 1, 32, 32), dtype=torch.uint8, generator=generator)


def test_grayscale_is_duplicated_exactly_then_normalised():
    rgb = to_rgb(gray_images(6))
    assert rgb.shape == (6, 3, 224, 224) and rgb.dtype == torch.float32
    assert torch.equal(rgb[:, 0], rgb[:, 1]) and torch.equal(rgb[:, 1], rgb[:, 2])
    assert 0 <= rgb.min() and rgb.max() <= 1
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    torch.testing.assert_close(preprocess(gray_images(6)) * std + mean, rgb)


def test_colour_images_keep_their_channels_and_bad_inputs_are_refused():
    colour = torch.zeros(2, 3, 32, 32, dtype=torch.uint8)
    colour[:, 0] = 255
    rgb = to_rgb(colour)
    assert torch.allclose(rgb[:, 0], torch.ones(())) and rgb[:, 1:].abs().max() == 0
    with pytest.raises(DataError, match="uint8 images"):
        to_rgb(torch.rand(2, 1, 32, 32))


@pytest.mark.parametrize(("backbone", "layer", "dim"), [
    ("vgg16", "relu7", 4096), ("alexnet", "relu7", 4096), ("resnet18", "avgpool", 512),
    ("resnet50", "avgpool", 2048)])
def test_layers_have_their_published_sizes(backbone, layer, dim):
    """Shapes only, on the meta device: no memory, no compute."""
    with torch.device("meta"):
        model = torchvision.models.get_model(backbone, weights=None).eval()
        caught = {}
        model.get_submodule(layer_module(backbone, layer)).register_forward_hook(
            lambda _m, _i, out: caught.update(out=out))
        model(torch.empty(2, 3, 224, 224))
    assert caught["out"].flatten(1).shape == (2, dim)


def test_unknown_layer_is_named():
    with pytest.raises(ConfigError, match="no layer 'fc9' for backbone 'vgg16'; known: vgg16: relu7"):
        layer_module("vgg16", "fc9")
    assert set(LAYERS) <= set(torchvision.models.list_models())


def test_extraction_gives_one_row_per_image():
    model = pretrained_backbone("resnet18", None, seed=0)
    features = extract_features(model, "avgpool", gray_images(6), 4, CPU)
    assert features.shape == (6, 512) and features.dtype == torch.float16 and features.abs().sum() > 0


def test_extract_dataset_writes_every_split_and_is_repeatable(tmp_path):
    splits = {}
    for split, n in (("train", 2), ("test", 1)):
        splits[split] = tmp_path / "prepared" / f"{split}.pt"
        splits[split].parent.mkdir(exist_ok=True)
        torch.save({"x": gray_images(n, seed=n), "y": torch.arange(n)}, splits[split])
    out = tmp_path / paths.features("resnet18", "avgpool", "fake")
    assert out.relative_to(tmp_path).as_posix() == "features/resnet18/avgpool/fake.pt"
    extract_dataset("resnet18", "avgpool", splits, out, device="cpu", batch_size=2, seed=0)
    saved = torch.load(out, weights_only=True)
    assert {s: tuple(v["x"].shape) for s, v in saved.items()} == {"train": (2, 512), "test": (1, 512)}
    assert torch.equal(saved["train"]["y"], torch.arange(2))
    model = pretrained_backbone("resnet18", None, seed=0)
    again = extract_features(model, "avgpool", gray_images(2, seed=2), 2, CPU)
    assert torch.equal(again, saved["train"]["x"])  # a second run gives identical tensors


@pytest.mark.parametrize("backbone", ["alexnet", "vgg16"])
def test_every_backbone_takes_the_smoke_size(backbone, tmp_path):
    """The smoke preset's small images: each backbone runs at them or at its own smallest size."""
    size = yaml.safe_load((REPO / "presets" / "smoke.yaml").read_text())["features"]["size"]
    split = tmp_path / "train.pt"
    torch.save({"x": gray_images(1), "y": torch.arange(1)}, split)
    out = tmp_path / "features.pt"
    extract_dataset(backbone, "relu7", {"train": split}, out, device="cpu", size=size)
    assert torch.load(out, weights_only=True)["train"]["x"].shape == (1, 4096)
