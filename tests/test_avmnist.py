"""AV-MNIST: the MultiBench .npy layout, signed float images kept as raw / 255, uint8 audio, Drive."""

import io
import sys
import tarfile
import types

import numpy as np
import pytest
import torch

from reprolab.chapters.fusion.jobs import samples
from reprolab.data.datasets import avmnist
from reprolab.data.download import ChecksumLock, digests, fetch_file
from reprolab.data.fixtures import write_fixture
from reprolab.data.prepare import prepare_dataset
from reprolab.data.sources import RemoteFile
from reprolab.engine import fit_normalizer
from reprolab.errors import DataError
from reprolab.kinds import Job
from reprolab.registry import Variant


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    folder = tmp_path_factory.mktemp("avmnist")
    write_fixture("avmnist", folder, n_train=50, n_test=20)
    return folder


def test_fixture_has_multibench_layout(raw):
    with tarfile.open(raw / avmnist.ARCHIVE) as tar:
        names = set(tar.getnames())
    assert names == {"avmnist/image/train_data.npy", "avmnist/image/test_data.npy",
                     "avmnist/audio/train_data.npy", "avmnist/audio/test_data.npy",
                     "avmnist/train_labels.npy", "avmnist/test_labels.npy"}


def raw_images(raw, split):
    with tarfile.open(raw / avmnist.ARCHIVE) as tar:
        return np.load(io.BytesIO(tar.extractfile(f"avmnist/image/{split}_data.npy").read()))


def test_fixture_images_look_like_the_real_pca_residuals(raw):
    image = raw_images(raw, "train")
    assert image.dtype == np.float64 and image.shape == (50, 784)
    assert -260 < image.min() < -100 and image.max() == pytest.approx(256)
    assert 0.3 < (image < 0).mean() < 0.7          # about half negative
    assert (image == np.rint(image)).mean() < 0.01  # almost no integers


def test_prepare_keeps_signed_float_images_and_uint8_audio(raw):
    splits = avmnist.prepare(raw)
    x, y = splits["train"]["x"], splits["train"]["y"]
    assert x["image"].shape == (50, 1, 28, 28) and x["image"].dtype == torch.float16
    assert x["audio"].shape == (50, 1, 112, 112) and x["audio"].dtype == torch.uint8
    assert y.dtype == torch.int64 and set(y.tolist()) == set(range(10))
    assert splits["test"]["x"]["audio"].shape[0] == 20
    for split in ("train", "test"):
        image = splits[split]["x"]["image"].double().flatten(1)
        assert (image < 0).any() and (image * 255 != torch.round(image * 255)).any()  # no uint8 rounding
        expected = torch.from_numpy(raw_images(raw, split) / 255)
        torch.testing.assert_close(image, expected, rtol=1e-3, atol=3e-4)


def test_models_see_raw_over_255_and_the_sample_grid_shows_signed_images(raw, tmp_path):
    prepare_dataset("avmnist", raw, tmp_path / "prepared")
    variant = Variant("fusion", "data", "samples", {"n_samples": 6, "validation_size": 10})
    (tmp_path / "out").mkdir()
    metrics = samples(Job(variant, {"prepared": tmp_path / "prepared"},
                          {"metrics": tmp_path / "out" / "metrics.json",
                           "samples": tmp_path / "out" / "samples.png"}))
    assert (tmp_path / "out" / "samples.png").stat().st_size
    assert -1 < metrics["image_mean"] < 1 and 0 <= metrics["audio_mean"] <= 1
    train = torch.load(tmp_path / "prepared" / "train.pt", weights_only=True)["x"]
    seen = fit_normalizer(train, standardize=False)(train)
    torch.testing.assert_close(seen["image"].double().flatten(1),
                               torch.from_numpy(raw_images(raw, "train") / 255), rtol=1e-3, atol=3e-4)
    assert seen["audio"].max() <= 1 and seen["audio"].dtype == torch.float32


def test_missing_array_is_named(tmp_path):
    with tarfile.open(tmp_path / avmnist.ARCHIVE, "w:gz"):
        pass
    with pytest.raises(DataError, match="avmnist/image/train_data.npy"):
        avmnist.prepare(tmp_path)


def fake_gdown(monkeypatch, payload: bytes | None, calls: list):
    """A stand-in for the gdown package: writes `payload`, or refuses like a Drive quota page."""
    exceptions = types.ModuleType("gdown.exceptions")

    class FileURLRetrievalError(Exception):
        pass

    exceptions.FileURLRetrievalError = FileURLRetrievalError

    def download(id, output, quiet, resume):
        calls.append(id)
        if payload is None:
            raise FileURLRetrievalError("Too many users have viewed or downloaded this file recently")
        with open(output, "wb") as f:
            f.write(payload)
        return output

    module = types.ModuleType("gdown")
    module.download, module.exceptions = download, exceptions
    monkeypatch.setitem(sys.modules, "gdown", module)
    monkeypatch.setitem(sys.modules, "gdown.exceptions", exceptions)


def test_drive_file_is_fetched_with_gdown_and_pinned(monkeypatch, tmp_path):
    calls = []
    fake_gdown(monkeypatch, b"archive bytes", calls)
    remote = RemoteFile("avmnist.tar.gz", (), gdrive_id="abc123")
    lock = ChecksumLock(tmp_path / "lock.json")
    record = fetch_file(remote, tmp_path / "raw", "avmnist", lock=lock)
    assert calls == ["abc123"] and record.status == "tofu-recorded" and record.source == "gdrive:abc123"
    assert record.sha256 == digests(tmp_path / "raw" / "avmnist.tar.gz")["sha256"]
    assert lock.get("avmnist", "avmnist.tar.gz") == record.sha256


def test_drive_refusal_says_how_to_prestage(monkeypatch, tmp_path):
    fake_gdown(monkeypatch, None, [])
    remote = RemoteFile("avmnist.tar.gz", (), gdrive_id="abc123")
    with pytest.raises(DataError, match=r"(?s)quota exceeded.*Google Drive file id abc123.*prestaged_dir"):
        fetch_file(remote, tmp_path / "raw", "avmnist", lock=ChecksumLock(tmp_path / "lock.json"))


def test_prestaged_archive_comes_before_drive(monkeypatch, tmp_path):
    calls = []
    fake_gdown(monkeypatch, b"from drive", calls)
    staged = tmp_path / "staged"
    staged.mkdir()
    (staged / "avmnist.tar.gz").write_bytes(np.arange(10, dtype=np.uint8).tobytes())
    remote = RemoteFile("avmnist.tar.gz", (), gdrive_id="abc123")
    record = fetch_file(remote, tmp_path / "raw", "avmnist", lock=ChecksumLock(tmp_path / "lock.json"),
                        prestaged_dir=staged)
    assert calls == [] and record.source == str(staged / "avmnist.tar.gz")
