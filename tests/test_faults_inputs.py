"""Fault injection, corrupt and hostile inputs (issue 15, fault 4).

A truncated wav, jpg, `.npy`, IDX file, CIFAR pickle batch, prepared split, model or checkpoint: a
`DataError` naming the file and what to do. Pickles are never trusted: the CIFAR batches are
checked against the manifest's sha256 and then read by an unpickler that builds nothing but
arrays; `model.pt`, checkpoints and prepared splits load with `weights_only=True`.
"""

from __future__ import annotations

import io
import json
import pickle
import tarfile

import numpy as np
import pytest
import torch

from reprolab.data.datasets import avmnist, cifar10, fsdd
from reprolab.data.download import digests
from reprolab.data.fixtures import write_fixture
from reprolab.data.formats import py2_pickle, read_idx, write_idx
from reprolab.data.prepare import load_split
from reprolab.engine import Split, TrainConfig, fit
from reprolab.errors import DataError
from reprolab.models import build_model
from reprolab.train import load_trained


class Payload:
    """Unpickling this creates `marker`: proof that a pickle ran code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def test_truncated_wav_is_named(tmp_path):
    path = tmp_path / "3_theo_7.wav"
    path.write_bytes(fsdd.wav_bytes(np.zeros(4000))[:-1001])  # cut in the middle of a sample
    with pytest.raises(DataError, match="3_theo_7.wav.*truncated"):
        fsdd.read_wav(path)
    path.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk")
    with pytest.raises(DataError, match="3_theo_7.wav"):
        fsdd.read_wav(path)


def test_truncated_jpg_is_named(tmp_path):
    """A 15-Scene archive (the release's zip of grayscale jpg) whose first image is cut short."""
    import zipfile

    from reprolab.data.datasets import scene15

    write_fixture("scene15", tmp_path, n_train=15, n_test=15)
    archive = tmp_path / scene15.ARCHIVE
    with zipfile.ZipFile(archive) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    first = sorted(files)[0]
    files[first] = files[first][: len(files[first]) // 2]
    with zipfile.ZipFile(archive, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    with pytest.raises(DataError, match=f"cannot decode 15-Scene image {first}.*truncated"):
        scene15.prepare(tmp_path, train_per_class=1, test_per_class=1, size=32)


def test_truncated_npy_in_the_avmnist_archive_is_named(tmp_path):
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((50, 784)))
    with tarfile.open(tmp_path / avmnist.ARCHIVE, "w:gz") as tar:
        for name in avmnist._layout("train").values():
            data = buffer.getvalue()[:1000]
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(DataError, match="avmnist/.*_data.npy.*fetch it again"):
        avmnist.prepare(tmp_path)


def test_truncated_idx_is_named(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    write_idx(path, np.zeros((20, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz"):
        read_idx(path)


def cifar_archive(folder, batch: bytes, record_sha=True):
    """A CIFAR-10 archive whose batches are all `batch`, and the manifest of its download."""
    archive = folder / cifar10.ARCHIVE
    with tarfile.open(archive, "w:gz") as tf:
        for name in [*cifar10.BATCHES["train"], *cifar10.BATCHES["test"]]:
            info = tarfile.TarInfo(f"{cifar10.FOLDER}/{name}")
            info.size = len(batch)
            tf.addfile(info, io.BytesIO(batch))
    sha = digests(archive)["sha256"] if record_sha else "0" * 64
    (folder / "manifest.json").write_text(json.dumps({"dataset": "cifar10", "files": [
        {"name": cifar10.ARCHIVE, "sha256": sha, "size": 0, "source": "x", "status": "differs"}]}))
    return archive


def test_cifar_batches_are_python_2_pickles_and_are_read_as_the_release_is(tmp_path):
    """The release was written by Python 2's cPickle: keys and image bytes are Python 2 `str`.
    Read with Python 3's default encoding, they fail (a defect the suite found); the fixture now
    writes them the same way."""
    labels = np.arange(20) % 10
    batch = {b"batch_label": b"training batch 1 of 5", b"labels": labels.tolist(),
             b"data": cifar10.fixture_images(labels, np.random.default_rng(0)), b"filenames": [b"a.png"] * 20}
    raw = py2_pickle(batch)
    assert b"cnumpy.core.multiarray\n_reconstruct" in raw and b"X\x04\x00\x00\x00data" not in raw
    cifar_archive(tmp_path, raw)
    splits = cifar10.prepare(tmp_path)
    assert torch.equal(splits["test"]["x"].reshape(20, -1), torch.from_numpy(batch[b"data"]))
    write_fixture("cifar10", tmp_path / "fixture", n_train=10, n_test=10)
    with tarfile.open(tmp_path / "fixture" / cifar10.ARCHIVE) as tf:
        assert b"U\x04data" in tf.extractfile(f"{cifar10.FOLDER}/test_batch").read()  # a Python 2 str


def test_a_cifar_archive_changed_since_its_download_is_not_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    cifar_archive(tmp_path, pickle.dumps(Payload(marker)), record_sha=False)
    with pytest.raises(DataError, match="does not match the sha256 its manifest recorded"):
        cifar10.prepare(tmp_path)
    assert not marker.exists()


def test_a_hostile_cifar_pickle_runs_no_code_even_when_its_checksum_was_accepted(tmp_path):
    """`data.verify: warn` keeps a file that differs from the release; its pickle still runs nothing."""
    marker = tmp_path / "pwned"
    cifar_archive(tmp_path, pickle.dumps({b"data": Payload(marker)}))
    with pytest.raises(DataError, match="data_batch_1.*names io.open.*only numpy arrays"):
        cifar10.prepare(tmp_path)
    assert not marker.exists()


def test_a_truncated_cifar_batch_is_named(tmp_path):
    cifar_archive(tmp_path, py2_pickle({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1]})[:-30])
    with pytest.raises(DataError, match="data_batch_1"):
        cifar10.prepare(tmp_path)


def test_a_corrupt_prepared_split_is_named(tmp_path):
    torch.save({"x": torch.zeros(4, 2), "y": torch.zeros(4)}, tmp_path / "train.pt")
    (tmp_path / "train.pt").write_bytes((tmp_path / "train.pt").read_bytes()[:200])
    with pytest.raises(DataError, match="train.pt"):
        load_split(tmp_path, "train")


def test_a_hostile_model_file_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"model": "mlp", "model_options": {}, "state_dict": Payload(marker), "normalizer": None},
               tmp_path / "model.pt")
    with pytest.raises(DataError, match="model.pt"):
        load_trained(tmp_path / "model.pt")
    assert not marker.exists()


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def toy_fit(out_dir, epochs):
    g = torch.Generator().manual_seed(0)
    data = Split(torch.rand(64, 1, 28, 28, generator=g), torch.arange(64) % 10)
    torch.manual_seed(0)
    cfg = TrainConfig(epochs=epochs, batch_size=32, optimizer={"name": "sgd", "lr": 0.1}, fingerprint="toy")
    return fit(build_model("mlp"), data, data, cfg, out_dir, device=torch.device("cpu"))


@pytest.mark.parametrize("content", ["truncated", "hostile"])
def test_an_unreadable_or_hostile_checkpoint_is_set_aside_and_training_restarts(tmp_path, content, caplog,
                                                                               one_thread):
    marker = tmp_path / "pwned"
    expected = toy_fit(tmp_path / "clean", 2).final
    ckpt = tmp_path / "run" / "checkpoint.pt"
    ckpt.parent.mkdir()
    if content == "hostile":
        torch.save({"version": 3, "task": Payload(marker)}, ckpt)
    else:
        ckpt.write_bytes((tmp_path / "clean" / "checkpoint.pt").read_bytes()[:500])
    result = toy_fit(tmp_path / "run", 2).final
    assert "cannot read" in caplog.text and str(ckpt) in caplog.text
    assert not marker.exists()
    assert {k: v for k, v in result.items() if k != "train_samples_per_s"} == \
        {k: v for k, v in expected.items() if k != "train_samples_per_s"}

