"""Chapter `transfer`: mAP, the networks described from the models, offline weights, photos and
ImageNet names, and the three kinds' jobs on small data."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from sklearn.metrics import average_precision_score

from reprolab.chapters.transfer import multilabel, networks
from reprolab.chapters.transfer.report import fc_estimate
from reprolab.data.assets import asset, fetch_asset, write_asset_fixture
from reprolab.data.download import ChecksumLock
from reprolab.data.photos import bundled_photos, imagenet_categories, sample_photos
from reprolab.errors import ConfigError, DataError
from reprolab.features import LAYERS, extract_dataset
from reprolab.kinds import Job, get
from reprolab.pretrained import load_backbone, pretrained_inputs, weights_origin
from reprolab.registry import Variant, resolve
from tests.conftest import REPO

# --- mAP -----------------------------------------------------------------------------------------


def test_map_of_a_hand_computed_case():
    # class 0: ranked 1 (pos), 0.8 (neg), 0.7 (pos), 0.1 (neg): AP = (1/1 + 2/3) / 2 = 5/6
    # class 1: ranked 0.4 (neg), 0.3 (neg), 0.2 (pos), 0.1 (pos): AP = (1/3 + 2/4) / 2 = 5/12
    targets = np.array([[1, 0], [0, 0], [1, 1], [0, 1]])
    scores = np.array([[0.9, 0.4], [0.8, 0.3], [0.7, 0.2], [0.1, 0.1]])
    scores[3, 1] = 0.1
    aps = multilabel.average_precisions(targets, scores)
    np.testing.assert_allclose(aps, [100 * 5 / 6, 100 * 5 / 12])
    assert multilabel.mean_average_precision(targets, scores) == pytest.approx(100 * (5 / 6 + 5 / 12) / 2)
    assert aps[0] == pytest.approx(100 * average_precision_score(targets[:, 0], scores[:, 0]))


def test_map_leaves_out_ignored_pairs_and_classes_without_positives():
    targets = np.array([[1, 0, 0], [0, 0, 0], [1, 0, 0], [0, 1, 0]])
    scores = np.array([[0.9, 0.1, 0.5], [0.8, 0.2, 0.5], [0.7, 0.3, 0.5], [0.1, 0.4, 0.5]])
    aps = multilabel.average_precisions(targets, scores)
    assert math.isnan(aps[2]) and aps[1] == pytest.approx(100.0)
    assert multilabel.mean_average_precision(targets, scores) == pytest.approx((100 * 5 / 6 + 100) / 2)
    ignore = np.zeros_like(targets, dtype=bool)
    ignore[1, 0] = True  # a difficult negative ranked second: left out, class 0 becomes perfect
    assert multilabel.average_precisions(targets, scores, ignore)[0] == pytest.approx(100.0)
    assert math.isnan(multilabel.mean_average_precision(np.zeros((2, 2)), np.ones((2, 2))))


def test_scores_metrics_are_bce_binary_accuracy_and_map():
    logits = torch.tensor([[2.0, -1.0], [-3.0, 0.5]])
    targets = torch.tensor([[1, 0], [0, 0]], dtype=torch.uint8)
    m = multilabel.scores_metrics(logits, targets)
    p = torch.sigmoid(logits)
    bce = -(targets * p.log() + (1 - targets) * (1 - p).log()).mean().item()
    assert m["loss"] == pytest.approx(bce) and m["acc"] == pytest.approx(75.0)
    assert m["map"] == pytest.approx(100.0)  # class 1 has no positive: left out


# --- the networks, from the built models ----------------------------------------------------------


def test_vgg16_counts_and_names_from_the_model():
    layers = {layer["label"]: layer for layer in networks.described("vgg16")}
    assert sum(layer["params"] for layer in layers.values()) == 138_357_544
    assert layers["fc6"]["params"] == (7 * 7 * 512 + 1) * 4096 == 102_764_544
    assert fc_estimate(layers["fc7"], layers["fc8"]) == (4096 + 1) * 4096 + (4096 + 1) * 1000 == 20_878_312
    assert layers["conv5_3"]["receptive_field"] == (196, 196)
    assert layers["pool5"]["receptive_field"] == (212, 212)
    assert layers["pool5"]["output_shape"] == (512, 7, 7) and layers["fc8"]["output_shape"] == (1000,)
    assert layers["relu7"]["name"] == LAYERS["vgg16"]["relu7"]  # the features layer has its course name
    assert [k for k in layers if k.startswith("conv")][-1] == "conv5_3" and "pool5" in layers


def test_alexnet_names_and_resnet50_stages():
    alexnet = {layer["label"]: layer for layer in networks.described("alexnet")}
    assert alexnet["relu7"]["name"] == LAYERS["alexnet"]["relu7"]
    assert [k for k in alexnet if k.startswith(("conv", "pool"))] == \
        ["conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5"]
    assert networks.depth(alexnet.values()) == 8
    stages = {s["stage"]: s for s in networks.stages(list(networks.described("resnet50")))}
    assert list(stages) == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4",
                            "avgpool", "fc"]
    assert stages["layer4"]["output_shape"] == (2048, 7, 7)
    assert stages["avgpool"]["output_shape"] == (2048, 1, 1)
    assert sum(s["params"] for s in stages.values()) == 25_557_032


# --- weights offline, photos, ImageNet names -------------------------------------------------------


def test_weights_load_offline_from_a_file_under_the_expected_cache_name(tmp_path):
    """The real loading path, offline: a ResNet-50 state dict written under torchvision's file name in a
    torch.hub cache folder, pre-staged, fetched by the asset downloader, then loaded by the chapter."""
    [remote] = asset("resnet50").files
    cache = tmp_path / "torch" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.manual_seed(3)
    written = torchvision.models.resnet50(weights=None)
    torch.save(written.state_dict(), cache / remote.name)
    assert remote.name == "resnet50-0676ba61.pth"
    dest = tmp_path / "data" / "assets" / "resnet50"
    with pytest.raises(DataError, match="sha256-prefix:0676ba61"):  # ours is not torchvision's file
        fetch_asset("resnet50", dest, prestaged_dir=cache, verify="strict",
                    lock=ChecksumLock(tmp_path / "l.json"))
    [record] = fetch_asset("resnet50", dest, prestaged_dir=cache, verify="warn",
                           lock=ChecksumLock(tmp_path / "lock.json"))
    assert record.status == "differs" and record.source == str(cache / remote.name)
    variant = Variant("transfer", "voc2007", "resnet50_finetune", {"assets": ["resnet50"]})
    job = Job(variant, {"weights": dest / "manifest.json"}, {})
    model, origin = load_backbone(job, seed=0)
    assert origin == {"backbone": "resnet50", "pretrained": True, "file": remote.name, "status": "differs"}
    for name, tensor in written.state_dict().items():
        assert torch.equal(model.state_dict()[name], tensor), name


def test_a_weights_fixture_builds_a_random_network(tmp_path):
    write_asset_fixture("alexnet", tmp_path / "alexnet")
    assert weights_origin(tmp_path / "alexnet" / "manifest.json")["pretrained"] is False
    job = Job(Variant("t", "e", "v", {"features": {"backbone": "alexnet", "layer": "relu7"}}),
              {"weights": tmp_path / "alexnet" / "manifest.json"}, {})
    a, _ = load_backbone(job, seed=1)
    b, _ = load_backbone(job, seed=1)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))


def test_imagenet_names_come_from_the_weights_metadata(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    names = imagenet_categories()
    assert len(names) == 1000 and names[0] == "tench" and "Persian cat" in names and "malamute" in names
    assert not any(tmp_path.iterdir())  # nothing downloaded


def test_bundled_photos_and_a_folder_of_ones_own(tmp_path):
    photos = bundled_photos()
    assert [p.name for p in photos] == ["grace_hopper", "china", "flower"]
    assert all(p.image.dtype == np.uint8 and p.image.ndim == 3 and p.image.shape[2] == 3 for p in photos)
    assert all("CC BY" in p.source or "public domain" in p.source for p in photos)
    from PIL import Image

    Image.fromarray(photos[1].image).save(tmp_path / "b_temple.png")
    Image.fromarray(photos[0].image[:50, :40]).convert("L").save(tmp_path / "a_gray.jpg")
    (tmp_path / "notes.txt").write_text("not a photo")
    mine = sample_photos(tmp_path)
    assert [p.name for p in mine] == ["a_gray", "b_temple"] and mine[0].image.shape == (50, 40, 3)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="holds no jpg or png"):
        sample_photos(tmp_path / "empty")


# --- the kinds' inputs and jobs -------------------------------------------------------------------


def full_config():
    import yaml

    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_inputs_name_the_weights_manifest_and_the_shared_features():
    config = full_config()
    svm = resolve(config, "transfer", "scene15", "vgg16_svm")
    sweep = resolve(config, "transfer", "scene15", "vgg16_svm_csweep")
    assert pretrained_inputs(svm, config) == {"prepared": "data/prepared/scene15",
                                            "features": "features/vgg16/relu7/scene15.pt",
                                            "weights": "data/assets/vgg16/manifest.json"}
    assert pretrained_inputs(sweep, config)["features"] == pretrained_inputs(svm, config)["features"]
    fine = resolve(config, "transfer", "voc2007", "resnet50_finetune")
    assert pretrained_inputs(fine, config) == {"prepared": "data/prepared/voc2007",
                                             "weights": "data/assets/resnet50/manifest.json"}
    anatomy = resolve(config, "transfer", "vgg16_anatomy", "vgg16")
    assert pretrained_inputs(anatomy, config) == {"weights": "data/assets/vgg16/manifest.json"}
    assert get("multilabel").per_seed and get("multilabel").uses_gpu(fine)
    assert not get("linear_svm").uses_gpu(svm) and not get("anatomy").uses_gpu(anatomy)


def write_features(path: Path, n_train=45, n_test=30, dim=16, classes=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, dim, generator=g) * 3
    out = {}
    for split, n in (("train", n_train), ("test", n_test)):
        y = torch.arange(n) % classes
        out[split] = {"x": (centres[y] + torch.randn(n, dim, generator=g)).half(), "y": y}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(out, path)


def fixture_weights(tmp_path, arch):
    write_asset_fixture(arch, tmp_path / "assets" / arch)
    return tmp_path / "assets" / arch / "manifest.json"


def test_linear_svm_job_accuracy_confusion_and_sweep(tmp_path):
    from reprolab.chapters.transfer import svm

    write_features(tmp_path / "features.pt")
    (tmp_path / "prepared").mkdir()
    torch.save({"categories": ["a", "b", "c"], "channels_identical": True, "source_modes": {"L": 75},
                "size": 224}, tmp_path / "prepared" / "meta.pt")
    params = {"features": {"backbone": "alexnet", "layer": "relu7"}, "C": 1.0, "normalize": "l2",
              "c_sweep": [0.1, 1, 10], "seeds": [0]}
    out = tmp_path / "out"
    out.mkdir()
    outputs = {name: out / f"{name}.{ext}" for name, ext in
               (("metrics", "json"), ("confusion", "png"), ("c_sweep", "png"))}
    m = svm.run(Job(Variant("transfer", "scene15", "x", params),
                    {"features": tmp_path / "features.pt", "prepared": tmp_path / "prepared",
                     "weights": fixture_weights(tmp_path, "alexnet")}, outputs))
    assert m["test_acc"] > 90 and m["n_classes"] == 3 and np.asarray(m["confusion"]).sum() == 30
    assert [s["C"] for s in m["c_sweep"]] == [0.1, 1.0, 10.0]
    assert json.loads(outputs["metrics"].read_text())["test_acc"] == m["test_acc"]
    assert outputs["confusion"].stat().st_size > 0 and outputs["c_sweep"].stat().st_size > 0
    assert m["pretrained"] is False and m["feature_dim"] == 16
    unit = svm.l2_normalise(np.array([[3.0, 4.0], [0, 0]]))
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), [1, 0])


def multilabel_job(tmp_path, params, seed=0, name="v"):
    out = tmp_path / name / "seed0"
    out.mkdir(parents=True)
    inputs = {"prepared": tmp_path / "prepared", "weights": fixture_weights(tmp_path, "resnet18")}
    if "features" in params:
        inputs["features"] = tmp_path / "features.pt"
    outputs = {"metrics": out / "metrics.json", "history": out / "history.csv", "model": out / "model.pt"}
    base = {"batch_size": 3, "optimizer": {"name": "sgd", "lr": 0.1}, "seeds": [0], "device": "cpu"}
    return Job(Variant("transfer", "voc2007", name, base | params), inputs, outputs, seed=seed)


@pytest.fixture(scope="module")
def voc_like(tmp_path_factory):
    """A prepared VOC-like set (6 train, 4 test 32 x 32 images, 20 labels) and its resnet18 features."""
    root = tmp_path_factory.mktemp("voc_like")
    g = torch.Generator().manual_seed(0)
    (root / "prepared").mkdir()
    difficult = {}
    for split, n in (("train", 6), ("test", 4)):
        y = (torch.rand(n, 20, generator=g) < 0.2).to(torch.uint8)
        y[:, 0] = torch.arange(n) % 2
        x = (torch.rand(n, 3, 32, 32, generator=g) * 255).to(torch.uint8)
        x[:, 0] = torch.where(y[:, 0, None, None].bool(), 255, x[:, 0])  # class 0: a red image
        torch.save({"x": x, "y": y}, root / "prepared" / f"{split}.pt")
        difficult[split] = torch.zeros(n, 20, dtype=torch.bool)
    meta = {"classes": [f"c{i}" for i in range(20)], "difficult": difficult}
    torch.save(meta, root / "prepared" / "meta.pt")
    write_asset_fixture("resnet18", root / "assets" / "resnet18")
    extract_dataset("resnet18", "avgpool", {s: root / "prepared" / f"{s}.pt" for s in ("train", "test")},
                    root / "features.pt", weights_path=None, device="cpu", batch_size=8, seed=0)
    return root


def test_linear_layer_on_features_and_fine_tuning_start_from_the_same_function(voc_like):
    """Epoch 0: the head on cached features and the fine-tuned network (same seed) give the same test
    metrics, so the features file holds exactly what the backbone computes from the images."""
    features = {"backbone": "resnet18", "layer": "avgpool"}
    linear = multilabel.run(multilabel_job(voc_like, {"features": features, "epochs": 2}, name="linear"))
    fine = multilabel.run(multilabel_job(voc_like, {"assets": ["resnet18"], "epochs": 1}, name="fine"))
    assert linear["initial_map"] == pytest.approx(fine["initial_map"], abs=1e-6)
    assert linear["initial_loss"] == pytest.approx(fine["initial_loss"], rel=1e-3)
    for m, trained in ((linear, 20 * 512 + 20), (fine, 11_186_772)):
        assert m["params"] == trained and m["n_labels"] == 20 and m["n_train"] == 6
        assert {"train_map", "test_map", "test_map_voc", "test_acc", "test_ap_c0"} <= m.keys()
        assert m["test_map_voc"] == pytest.approx(m["test_map"])  # no difficult pair here
    history = (voc_like / "linear" / "seed0" / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,train_loss,train_acc,train_map,test_loss,test_acc,test_map")
    assert len(history) == 4  # epochs 0, 1, 2
    saved = torch.load(voc_like / "fine" / "seed0" / "model.pt", weights_only=True)
    assert saved["backbone"] == "resnet18" and saved["state_dict"]["fc.weight"].shape == (20, 512)
    assert not (voc_like / "fine" / "seed0" / "checkpoint.pt").exists()


def test_anatomy_job_describes_the_network_and_ranks_the_photos(tmp_path):
    from reprolab.chapters.transfer import anatomy

    out = tmp_path / "out"
    out.mkdir()
    outputs = {"metrics": out / "metrics.json", "predictions": out / "predictions.png"}
    job = Job(Variant("transfer", "vgg16_anatomy", "alexnet", {"assets": ["alexnet"], "top": 3}),
              {"weights": fixture_weights(tmp_path, "alexnet")}, outputs)
    m = anatomy.run(job)
    assert m["params"] == sum(p.numel() for p in torchvision.models.alexnet().parameters()) == 61_100_840
    assert [layer["label"] for layer in m["layers"]][:3] == ["conv1", "relu1", "pool1"]
    assert len(m["predictions"]) == 3 and all(len(p["top"]) == 3 for p in m["predictions"])
    for p in m["predictions"]:
        probs = [v for _, v in p["top"]]
        assert probs == sorted(probs, reverse=True) and p["probability_sum"] == pytest.approx(100, abs=1e-3)
    assert outputs["predictions"].stat().st_size > 0 and m["n_categories"] == 1000


def test_the_answers_follow_the_model():
    """A changed layer changes the method table and the answer to TP 7's first question."""
    from reprolab.chapters.transfer.report import Context, layer_table, parameters_question

    model = networks.build("vgg16")
    with torch.device("meta"):
        model.classifier[0] = torch.nn.Linear(512 * 7 * 7, 2048)
        model.classifier[3] = torch.nn.Linear(2048, 4096)
    layers = networks.describe(model, "vgg16")
    total = sum(layer["params"] for layer in layers)
    ctx = Context(smoke=False, tolerance=1.0, primary="test_acc", direction="max", references={},
                  figures_dir=Path("."))
    question = parameters_question({"params": total, "layers": layers}, {la["label"]: la for la in layers},
                                   ctx, "vgg16")
    fc6 = (25088 + 1) * 2048
    assert f"{total:,} parameters" in question.answer and f"{fc6:,}" in question.answer
    assert total == 138_357_544 - (25088 + 1) * 4096 - (4096 + 1) * 4096 + fc6 + (2048 + 1) * 4096
    rows = {row.cells[0]: row.cells for row in layer_table(layers, "t").rows}
    assert rows["fc6"][3] == f"{fc6:,}" and rows["total"][3] == f"{total:,}"
