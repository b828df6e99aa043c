"""AV-MNIST: the MultiBench .npy layout, preparation into two modalities, the Google Drive hook."""

import sys
import tarfile
import types

import numpy as np
import pytest
import torch

from reprolab.data.datasets import avmnist
from reprolab.data.download import ChecksumLock, digests, fetch_file
from reprolab.data.fixtures import write_fixture
from reprolab.data.sources import RemoteFile
from reprolab.errors import DataError


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


def test_prepare_gives_both_modalities_as_uint8(raw):
    splits = avmnist.prepare(raw)
    x, y = splits["train"]["x"], splits["train"]["y"]
    assert x["image"].shape == (50, 1, 28, 28) and x["image"].dtype == torch.uint8
    assert x["audio"].shape == (50, 1, 112, 112) and x["audio"].dtype == torch.uint8
    assert y.dtype == torch.int64 and set(y.tolist()) == set(range(10))
    assert splits["test"]["x"]["audio"].shape[0] == 20


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
