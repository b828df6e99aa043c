"""Chapter `gans`: the networks, the Fréchet distance, the FID's Inception, CelebA, the update ratios."""

import io
import json
import math
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from reprolab.chapters.gans import jobs, scores
from reprolab.chapters.gans.inception import FIDInception
from reprolab.data.datasets import celeba
from reprolab.data.download import ChecksumLock, fetch_file
from reprolab.engine import Normalizer, Split, TrainConfig, normalizer_state, run_epochs
from reprolab.engine.tasks.adversarial import GAN, AdversarialTask, Snapshots, load_snapshots
from reprolab.errors import DataError
from reprolab.kinds import Job, get
from reprolab.models import build_model, count_parameters
from reprolab.registry import Variant

CPU = torch.device("cpu")


# ------------------------------------------------------------------------------------------ networks

def test_dcgan_at_64x64_has_dcgan_shapes_and_parameter_counts():
    model = build_model("dcgan", image_size=64, nz=100, ngf=64, ndf=64)
    z = torch.randn(5, 100)
    images = model.generator(z)
    assert images.shape == (5, 3, 64, 64) and images.abs().max() <= 1  # tanh out
    assert model.discriminator(images).shape == (5, 1, 1, 1)  # one logit per image
    # no biases; each 4x4 (transposed) convolution has in x out x 16 weights, each batch norm 2 per channel
    g = 16 * (100 * 512 + 512 * 256 + 256 * 128 + 128 * 64 + 64 * 3) + 2 * (512 + 256 + 128 + 64)
    d = 16 * (3 * 64 + 64 * 128 + 128 * 256 + 256 * 512 + 512 * 1) + 2 * (128 + 256 + 512)
    assert (count_parameters(model.generator), count_parameters(model.discriminator)) == (g, d)
    assert (g, d) == (3_576_704, 2_765_568)  # PyTorch's DCGAN tutorial prints the same


def test_dcgan_follows_the_image_size():
    small = build_model("dcgan", image_size=16, nz=8, ngf=4, ndf=4)
    assert small.generator(torch.randn(2, 8)).shape == (2, 3, 16, 16)
    assert small.discriminator(torch.zeros(2, 3, 16, 16)).shape == (2, 1, 1, 1)


def test_weights_start_as_dcgan_says():
    torch.manual_seed(0)
    model = build_model("dcgan")
    convs = torch.cat([m.weight.flatten() for m in model.modules()
                       if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)])
    norms = torch.cat([m.weight for m in model.modules() if isinstance(m, nn.BatchNorm2d)])
    assert convs.std().item() == pytest.approx(0.02, rel=0.02) and abs(convs.mean().item()) < 1e-3
    assert norms.mean().item() == pytest.approx(1.0, abs=0.01)
    assert norms.std().item() == pytest.approx(0.02, rel=0.3)


@pytest.mark.parametrize("name", ["cdcgan", "cgan_mlp"])
def test_conditional_networks_take_indices_or_one_hot_labels(name):
    model = build_model(name).eval()
    z, labels = torch.randn(4, 100), torch.tensor([0, 3, 7, 9])
    images = model.generator(z, labels)
    assert images.shape == (4, 1, 32, 32)
    one_hot = nn.functional.one_hot(labels, 10).float()
    assert torch.equal(images, model.generator(z, one_hot))
    assert model.discriminator(images, labels).numel() == 4


def test_conditional_dcgan_has_the_layers_of_the_catalogue():
    model = build_model("cdcgan")
    g = (16 * 100 * 256 + 256 + 16 * 10 * 256 + 256 + 16 * 512 * 256 + 256 + 16 * 256 * 128 + 128
         + 16 * 128 + 1
         + 2 * (256 + 256 + 256 + 128))
    d = (16 * 64 + 64 + 16 * 10 * 64 + 64 + 16 * 128 * 256 + 256 + 16 * 256 * 512 + 512 + 16 * 512 + 1
         + 2 * (256 + 512))
    assert (count_parameters(model.generator), count_parameters(model.discriminator)) == (g, d)


# ------------------------------------------------------------------------------------------ Fréchet

def test_frechet_distance_of_identical_gaussians_is_zero():
    sigma = np.array([[2.0, 0.5], [0.5, 1.0]])
    assert scores.frechet_distance([1.0, -2.0], sigma, [1.0, -2.0], sigma) == pytest.approx(0, abs=1e-12)


def test_frechet_distance_of_shifted_means_is_their_squared_distance():
    assert scores.frechet_distance([0, 0], np.eye(2), [3, 4], np.eye(2)) == pytest.approx(25)


def test_frechet_distance_on_hand_computed_covariances():
    # diagonal: sum of (sqrt(a) - sqrt(b))^2 = (2 - 1)^2 + (3 - 1)^2
    assert scores.frechet_distance([0, 0], np.diag([4.0, 9.0]), [0, 0], np.eye(2)) == pytest.approx(5)
    # [[2, 1], [1, 2]] has eigenvalues 3 and 1: against I, (sqrt 3 - 1)^2 + (1 - 1)^2, plus |mu|^2 = 1
    value = scores.frechet_distance([1, 0], np.array([[2.0, 1.0], [1.0, 2.0]]), [0, 0], np.eye(2))
    assert value == pytest.approx(1 + (math.sqrt(3) - 1) ** 2)
    # one dimension: (mu1 - mu2)^2 + (sigma1 - sigma2)^2
    assert scores.frechet_distance(1.0, 4.0, -1.0, 1.0) == pytest.approx(4 + 1)


def test_frechet_from_few_samples_equals_the_covariance_route():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(12, 40)), rng.normal(1.0, 2.0, size=(15, 40))  # fewer samples than features
    # the covariance route takes square roots of the zero eigenvalues' rounding errors: 1e-8 apart
    assert scores.frechet_from_features(a, b) == pytest.approx(
        scores.frechet_distance(*scores.gaussian(a), *scores.gaussian(b)), rel=1e-6)
    many = rng.normal(size=(60, 5)), rng.normal(size=(70, 5))
    assert scores.frechet_from_features(*many) == pytest.approx(
        scores.frechet_distance(*scores.gaussian(many[0]), *scores.gaussian(many[1])))


def test_fid_inception_is_torchvisions_network_with_tensorflows_pools():
    from torchvision.models.inception import Inception3

    torch.manual_seed(0)
    reference = Inception3(num_classes=1008, aux_logits=False, init_weights=True).eval()
    for m in reference.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 2.0)
    state = reference.state_dict()
    ours = FIDInception(tf_pools=False).eval()
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in state.items()}
    ours.load_state_dict(state)
    pooled = {}
    reference.avgpool.register_forward_hook(lambda m, i, o: pooled.setdefault("x", o.flatten(1)))
    x = torch.rand(2, 3, 80, 80) * 2 - 1
    with torch.no_grad():
        reference(x)
        torch.testing.assert_close(ours.features(x), pooled["x"])
        tf = FIDInception(tf_pools=True).eval()
        tf.load_state_dict(state)
        assert tf.features(x).shape == (2, 2048) and not torch.allclose(tf.features(x), pooled["x"])


# ------------------------------------------------------------------------------------------ CelebA

def jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def test_celeba_prepare_gives_uint8_centre_crops(tmp_path):
    """An aligned image whose 20-pixel bands above and below its central square are red: none is left."""
    image = Image.new("RGB", (celeba.WIDTH, celeba.HEIGHT), (255, 0, 0))
    image.paste((0, 200, 0), (0, 20, 178, 198))  # the central 178 x 178 square
    with zipfile.ZipFile(tmp_path / celeba.ARCHIVE, "w") as zf:
        for name in ("000001.jpg", "000002.jpg", "000003.jpg"):
            zf.writestr(f"img_align_celeba/{name}", jpeg(image))
    (tmp_path / celeba.PARTITION).write_text("000001.jpg 0\n000002.jpg 1\n000003.jpg 2\n")
    splits = celeba.prepare(tmp_path, image_size=64)
    for split, number in (("train", 1), ("test", 3)):
        x = splits[split]["x"]
        assert x.dtype == torch.uint8 and x.shape == (1, 3, 64, 64)
        assert splits[split]["y"].tolist() == [number]
        assert x[:, 0].max() < 40 and x[:, 1].min() > 160  # green everywhere, no red band


def test_celeba_fixture_is_read_from_the_zip_or_the_prestaged_folder(tmp_path):
    paths = celeba.write_fixture(tmp_path, 6, 4, np.random.default_rng(0))
    assert [p.name for p in paths] == [celeba.ARCHIVE, celeba.PARTITION]
    partition = celeba.read_partition(tmp_path / celeba.PARTITION)
    assert sorted(set(partition.values())) == [0, 1, 2] and len(partition) == 6 + 1 + 4
    with zipfile.ZipFile(tmp_path / celeba.ARCHIVE) as zf:
        assert Image.open(io.BytesIO(zf.read("img_align_celeba/000001.jpg"))).size == (178, 218)
    zipped = celeba.prepare(tmp_path, image_size=16)
    assert zipped["train"]["x"].shape == (6, 3, 16, 16) and zipped["test"]["y"].tolist() == [8, 9, 10, 11]
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(tmp_path / celeba.ARCHIVE) as zf:
        zf.extractall(unpacked)
    (unpacked / celeba.PARTITION).write_text((tmp_path / celeba.PARTITION).read_text())
    assert torch.equal(celeba.prepare(unpacked, image_size=16)["test"]["x"], zipped["test"]["x"])


def fake_gdown(monkeypatch, payload: bytes | None):
    """gdown refusing like Drive's quota page (None), or writing `payload` as if it were the file."""
    exceptions = types.ModuleType("gdown.exceptions")

    class FileURLRetrievalError(Exception):
        pass

    exceptions.FileURLRetrievalError = FileURLRetrievalError

    def download(id, output, quiet, resume):
        if payload is None:
            raise FileURLRetrievalError("Too many users have viewed or downloaded this file recently.")
        Path(output).write_bytes(payload)
        return output

    module = types.ModuleType("gdown")
    module.download, module.exceptions = download, exceptions
    monkeypatch.setitem(sys.modules, "gdown", module)
    monkeypatch.setitem(sys.modules, "gdown.exceptions", exceptions)


@pytest.mark.parametrize("payload", [None, b"<!DOCTYPE html><html><title>Google Drive - Quota "
                                           b"exceeded</title>"])
def test_drive_quota_page_says_how_to_prestage_the_zip(monkeypatch, tmp_path, payload):
    fake_gdown(monkeypatch, payload)
    [archive, _] = celeba.FILES
    with pytest.raises(DataError) as error:
        fetch_file(archive, tmp_path / "raw", "celeba", lock=ChecksumLock(tmp_path / "lock.json"))
    message = str(error.value)
    assert "quota exceeded" in message and "img_align_celeba.zip" in message
    assert "https://drive.google.com/uc?id=0B7EVK8r0v71pZjFTYXZWM3FlRnM&export=download" in message
    assert "data.prestaged_dir" in message and "unpacked img_align_celeba/ folder is accepted" in message
    assert "md5:00d2c5bc6d35e252742224ab0c1e8fcb" in message
    if payload is not None:
        assert "web page instead of the file" in message
    assert not list((tmp_path / "raw").iterdir())  # no page kept as the archive, no .part


# ------------------------------------------------------------------------------------------ the task

def tiny_gan() -> GAN:
    torch.manual_seed(0)
    return GAN(nn.Sequential(nn.Linear(3, 2)), nn.Linear(2, 1))


def data(n: int = 40) -> Split:
    g = torch.Generator().manual_seed(1)
    return Split(torch.randn(n, 2, generator=g) + 2, torch.arange(n))


def adam_steps(optimizer) -> int:
    return int(next(iter(optimizer.state.values()))["step"])


@pytest.mark.parametrize("d_steps, g_steps, fresh",
                         [(1, 1, False), (5, 1, False), (1, 5, True), (5, 1, True)])
def test_update_ratios_count_optimizer_steps(tmp_path, d_steps, g_steps, fresh):
    model = tiny_gan()
    real_sizes = []
    model.discriminator.register_forward_pre_hook(
        lambda m, args: real_sizes.append(len(args[0])) if m.training else None)  # training batches only
    task = AdversarialTask(model, {"name": "adam", "lr": 1e-3, "betas": [0.5, 0.999]}, latent_dim=3,
                           d_steps=d_steps, g_steps=g_steps, fresh_batches=fresh)
    batch = 20 if not fresh else 20 * d_steps
    run_epochs(task, data(40 * (d_steps if fresh else 1)),
               TrainConfig(epochs=2, batch_size=batch, optimizer={}),
               tmp_path, device=CPU)
    steps = 2 * 2  # 2 epochs of 2 batches
    assert adam_steps(task.optimizers["discriminator"]) == d_steps * steps
    assert adam_steps(task.optimizers["generator"]) == g_steps * steps
    if fresh:  # every D update judges 20 real images (its own part of the batch) and 20 generated ones
        assert set(real_sizes) == {20}


def test_fresh_batches_give_each_discriminator_update_its_own_real_images():
    model = tiny_gan()
    judged = []
    model.discriminator.register_forward_pre_hook(lambda m, args: judged.append(args[0].detach().clone()))
    task = AdversarialTask(model, {"name": "sgd", "lr": 0.0}, latent_dim=3, d_steps=4, fresh_batches=True)
    batch = data(8)
    task.train_step(batch)
    reals = judged[0:8:2]  # each D update judges the real part, then a generated batch
    assert [len(r) for r in reals] == [2, 2, 2, 2]
    assert torch.equal(torch.cat(reals), batch.x)


def test_snapshots_keep_the_fixed_noise_images_and_change_no_result(tmp_path):
    def train(folder, snapshots):
        model = tiny_gan()
        model.generator.append(nn.Tanh())
        noise = torch.randn(6, 3, generator=torch.Generator().manual_seed(5))
        shots = Snapshots(noise, None, folder / "snapshots") if snapshots else None
        task = AdversarialTask(model, {"name": "adam", "lr": 1e-2}, latent_dim=3, snapshots=shots)
        task.snapshot()
        return run_epochs(task, data(), TrainConfig(epochs=3, batch_size=10, optimizer={}, seed=2), folder,
                          device=CPU)

    def numbers(result):
        return [{k: v for k, v in row.items() if k != "seconds"} for row in result.history]

    assert numbers(train(tmp_path / "a", True)) == numbers(train(tmp_path / "b", False))
    shots = load_snapshots(tmp_path / "a" / "snapshots", 3)
    assert shots.shape == (4, 6, 2) and shots.dtype == torch.uint8
    assert not torch.equal(shots[0], shots[3])  # the generator moved


def test_loss_statistics_flag_a_collapsed_discriminator():
    rows = [{"epoch": 1, "batch": b, "step": 2 * b + k, "network": net, "loss": loss}
            for b in range(100) for k, (net, loss) in enumerate(
                [("discriminator", 1.3 if b < 50 else 0.01), ("generator", 0.7 if b < 50 else 7.5)])]
    import pandas as pd

    stats = jobs.loss_statistics(pd.DataFrame(rows))
    assert stats["d_loss_near_zero"] == 100 and stats["g_loss_above_6"] == 100 and stats["steps"] == 100
    assert stats["d_updates"] == stats["g_updates"] == 100
    assert stats["d_loss_median_end"] == pytest.approx(0.01)


def test_conditional_snapshot_batch_has_one_row_per_digit():
    noise, labels = jobs.snapshot_batch({"snapshot": {"samples": 100, "columns": 10}}, 16, 0, True)
    assert noise.shape == (100, 16) and labels.view(10, 10).tolist() == [[d] * 10 for d in range(10)]
    again, _ = jobs.snapshot_batch({"snapshot": {"samples": 100, "columns": 10}}, 16, 0, True)
    assert torch.equal(noise, again)  # the same noise for every variant of a seed


def test_grids_are_tiled_and_the_strip_keeps_the_first_and_last_epochs():
    images = torch.arange(6, dtype=torch.uint8).view(6, 1, 1, 1).expand(6, 1, 2, 2) * 40
    tiled = jobs.grid(images, 3, gap=1)
    assert tiled.shape == (2 * 2 + 1, 3 * 2 + 2, 3) and tiled[3, 0, 0] == 120  # second row, first image
    assert jobs.strip_epochs(5) == [0, 1, 2, 3, 4, 5]
    picked = jobs.strip_epochs(63)
    assert len(picked) == jobs.MAX_STRIP_EPOCHS and picked[0] == 0 and picked[-1] == 63


# ------------------------------------------------------------------------------------------ the job

def write_split(folder: Path, name: str, x: torch.Tensor, y: torch.Tensor) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({"x": x, "y": y}, folder / f"{name}.pt")


def run_gan_job(tmp_path: Path, params: dict, inputs: dict) -> dict:
    variant = Variant("gans", "e", "v", {"kind": "gan", "seeds": [0], "device": "cpu", "epochs": 2, **params})
    kind = get("gan")
    out = tmp_path / "out"
    outputs = {name: out / name for name in ("metrics.json", "history.csv", "samples.png", "evolution.png")}
    out.mkdir()
    metrics = kind.run(Job(variant, inputs, {k.rsplit(".", 1)[0]: v for k, v in outputs.items()}))
    for path in outputs.values():
        assert path.is_file(), path
    for name in ("metrics.json", "history.csv", "steps.csv", "model.pt"):
        assert (out / "seed0" / name).is_file(), name
    assert not (out / "seed0" / "snapshots").exists() and not (out / "seed0" / "checkpoint.pt").exists()
    assert json.loads(outputs["metrics.json"].read_text())["id"] == metrics["id"] == variant.id
    return metrics


def test_dcgan_job_trains_draws_and_scores_with_a_random_inception(tmp_path):
    g = torch.Generator().manual_seed(0)
    prepared = tmp_path / "prepared"
    write_split(prepared, "train", torch.randint(0, 256, (24, 3, 16, 16), dtype=torch.uint8, generator=g),
                torch.arange(24))
    write_split(prepared, "test", torch.randint(0, 256, (12, 3, 16, 16), dtype=torch.uint8, generator=g),
                torch.arange(12))
    assets = tmp_path / "fid_inception"
    assets.mkdir()
    (assets / "manifest.json").write_text(json.dumps({"asset": "fid_inception", "files": []}))
    params = {"dataset": "celeba", "model": "dcgan",
              "model_options": {"image_size": 16, "nz": 8, "ngf": 4, "ndf": 4},
              "optimizer": {"name": "adam", "lr": 2e-4, "betas": [0.5, 0.999]}, "batch_size": 16,
              "task_options": {"d_steps": 2, "fresh_batches": True},
              "snapshot": {"samples": 9, "columns": 3, "strip": 2},
              "score": {"name": "fid", "samples": 6, "image_size": 75}}
    m = run_gan_job(tmp_path, params, {"prepared": prepared, "asset_fid_inception": assets / "manifest.json"})
    assert m["steps"] == 2 * 2 and m["d_updates"] == 2 * m["g_updates"] == 8  # 2 epochs of 2 batches of 8 + 8
    assert m["fid_samples"] == 6 and math.isfinite(m["test_fid"]) and m["test_fid"] > 0
    assert m["fid_weights"].startswith("random") and len(m["grid_change"]) == 2
    assert (m["params_generator"], m["params_discriminator"]) == (
        count_parameters(build_model("dcgan", **params["model_options"]).generator),
        count_parameters(build_model("dcgan", **params["model_options"]).discriminator))


def test_conditional_job_is_scored_by_the_trained_classifier(tmp_path):
    g = torch.Generator().manual_seed(0)
    prepared = tmp_path / "prepared"
    write_split(prepared, "train", torch.randint(0, 256, (40, 1, 28, 28), dtype=torch.uint8, generator=g),
                torch.arange(40) % 10)
    write_split(prepared, "test", torch.randint(0, 256, (30, 1, 28, 28), dtype=torch.uint8, generator=g),
                torch.arange(30) % 10)
    classifier = build_model("keras_cnn")
    torch.save({"model": "keras_cnn", "model_options": {}, "state_dict": classifier.state_dict(),
                "normalizer": normalizer_state(Normalizer(1 / 255))},  # as the `train` kind saves it
               tmp_path / "model.pt")
    params = {"dataset": "mnist", "model": "cgan_mlp",
              "model_options": {"nz": 4, "g_widths": [8, 8, 8], "d_widths": [8, 8, 8]}, "pad": 2,
              "optimizer": {"name": "adam", "lr": 2e-4}, "batch_size": 20, "validation_size": 8,
              "task_options": {"conditional": True}, "snapshot": {"samples": 20, "columns": 2, "strip": 10},
              "classifier": "mnist/keras_style/cnn", "score": {"name": "classifier", "per_class": 3}}
    m = run_gan_job(tmp_path, params, {"prepared": prepared, "classifier": tmp_path / "model.pt"})
    assert m["n_train"] == 32 and m["n_val"] == 8 and m["n_classes"] == 10
    assert 0 <= m["class_acc"] <= 100 and len(m["class_acc_per_class"]) == 10 and m["scored_per_class"] == 3
    assert len(m["grid_class_acc"]) == 3 and m["real_speckle"] > 0  # epochs 0, 1, 2
