"""FSDD: wav reading, log-mel preparation, the two splits, pre-staged recordings; the real data (opt-in)."""

import json
import os
import time
import wave
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from conftest import REPO

from reprolab import train
from reprolab.data.datasets import fsdd
from reprolab.data.download import ChecksumLock, fetch_dataset
from reprolab.data.fixtures import write_fixture
from reprolab.data.prepare import prepare_dataset
from reprolab.errors import ConfigError, DataError
from reprolab.registry import resolve

CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fsdd")
    write_fixture("fsdd", folder, n_train=270, n_test=90)
    return folder


def test_wav_round_trip(tmp_path):
    samples = np.sin(np.linspace(0, 100, 4000)).astype(np.float32) * 0.5
    path = tmp_path / "0_theo_1.wav"
    path.write_bytes(fsdd.wav_bytes(samples))
    read, rate = fsdd.read_wav(path)
    assert rate == 8000 and len(read) == 4000
    assert np.abs(read - samples).max() < 1e-3


def test_stereo_wav_is_refused(tmp_path):
    path = tmp_path / "1_theo_1.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0" * 400)
    with pytest.raises(DataError, match="16-bit mono"):
        fsdd.read_wav(path)


def test_fixture_is_the_release_layout(raw):
    import tarfile

    with tarfile.open(raw / fsdd.ARCHIVE) as tar:
        names = tar.getnames()
    assert len(names) == 360
    assert f"{fsdd.TOP}/recordings/0_lucas_49.wav" in names
    assert all(fsdd.NAME.fullmatch(Path(n).name) for n in names)


def test_seed_split_is_stratified_and_fixed(raw):
    splits = fsdd.prepare(raw, n_mels=32, width=64)
    assert splits["train"]["x"].shape == (270, 1, 32, 64)
    assert splits["test"]["x"].shape == (90, 1, 32, 64)
    assert splits["train"]["x"].dtype == torch.float32
    per_digit = torch.bincount(splits["test"]["y"])
    assert len(per_digit) == 10 and 6 <= per_digit.min() and per_digit.max() <= 12  # 1 or 2 per speaker
    again = fsdd.prepare(raw, n_mels=32, width=64)
    assert torch.equal(again["test"]["x"], splits["test"]["x"])


def test_official_split_tests_takes_0_to_4():
    names = [(d, s, t) for t in range(50) for d in range(10) for s in fsdd.SPEAKERS]
    mask = fsdd.split_indices(names, "official", 0.25, 0)
    assert mask.sum() == 300 and all(mask[i] == (t < 5) for i, (_, _, t) in enumerate(names))
    with pytest.raises(ConfigError, match="official"):
        fsdd.split_indices(names, "random", 0.25, 0)


def test_seed_split_on_the_full_naming_scheme():
    names = [(d, s, t) for t in range(50) for d in range(10) for s in fsdd.SPEAKERS]
    mask = fsdd.split_indices(names, "seed", 0.25, 0)
    assert mask.sum() == 750
    per_stratum = {}
    for (d, s, _), m in zip(names, mask, strict=True):
        per_stratum[(d, s)] = per_stratum.get((d, s), 0) + m
    assert set(per_stratum.values()) <= {12, 13}


def test_incomplete_release_is_an_error(raw, tmp_path):
    folder = tmp_path / "recordings"
    folder.mkdir()
    (folder / "0_george_0.wav").write_bytes(fsdd.wav_bytes(np.zeros(800, np.float32)))
    with pytest.raises(DataError, match="1 wav files.*3000"):
        fsdd.prepare(tmp_path)


def test_wrong_sample_rate_is_an_error(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"dataset": "fsdd", "files": [
        {"name": "x", "sha256": "0", "size": 1, "source": "fixture", "status": "fixture"}]}))
    (tmp_path / "recordings").mkdir()
    (tmp_path / "recordings" / "0_george_0.wav").write_bytes(fsdd.wav_bytes(np.zeros(800, np.float32), 16000))
    with pytest.raises(DataError, match="16000 Hz"):
        fsdd.prepare(tmp_path)


def test_prestaged_recordings_folder_is_copied_and_pinned(tmp_path):
    staged = tmp_path / "staged" / "recordings"
    staged.mkdir(parents=True)
    for name in ("0_george_0.wav", "1_theo_3.wav"):
        (staged / name).write_bytes(fsdd.wav_bytes(np.zeros(800, np.float32)))
    lock = ChecksumLock(tmp_path / "lock.json")
    dest = tmp_path / "raw"
    [record] = fetch_dataset("fsdd", dest, lock=lock, prestaged_dir=staged)
    assert record.name == "recordings/" and record.status == "tofu-recorded"
    assert sorted(p.name for p in (dest / "recordings").iterdir()) == ["0_george_0.wav", "1_theo_3.wav"]
    [again] = fetch_dataset("fsdd", tmp_path / "raw2", lock=lock, prestaged_dir=staged.parent)
    assert again.status == "tofu-verified" and again.sha256 == record.sha256
    (staged / "1_theo_3.wav").write_bytes(fsdd.wav_bytes(np.ones(800, np.float32) * 0.1))
    with pytest.raises(DataError, match="differs from the one recorded"):
        fetch_dataset("fsdd", tmp_path / "raw3", lock=lock, prestaged_dir=staged)


@pytest.fixture(scope="module")
def real_prepared(tmp_path_factory):
    """The real recordings named by REPROLAB_FSDD_DIR, prepared with config.yaml's options."""
    folder = Path(os.environ.get("REPROLAB_FSDD_DIR", ""))
    if not os.environ.get("REPROLAB_FSDD_DIR") or not folder.is_dir():
        pytest.skip("opt-in: set REPROLAB_FSDD_DIR to a folder holding the 3,000 FSDD recordings "
                    "(the recordings/ folder itself, or the folder above it)")
    raw = folder
    if not (folder / "recordings").is_dir():  # the recordings folder itself
        raw = tmp_path_factory.mktemp("fsdd_real")
        (raw / "recordings").symlink_to(folder.resolve())
    prepared = tmp_path_factory.mktemp("fsdd_real_prepared")
    prepare_dataset("fsdd", raw, prepared, CONFIG["data"]["prepare"]["fsdd"])
    return prepared


@pytest.mark.realdata
def test_real_recordings_prepare_into_the_seed_split(real_prepared):
    train, test = (torch.load(real_prepared / f"{s}.pt", weights_only=True) for s in ("train", "test"))
    assert train["x"].shape == (2250, 1, fsdd.N_MELS, fsdd.WIDTH)
    assert test["x"].shape == (750, 1, fsdd.N_MELS, fsdd.WIDTH)
    per_digit = torch.bincount(test["y"])
    assert len(per_digit) == 10 and 72 <= per_digit.min() and per_digit.max() <= 78  # 12 or 13 per speaker
    assert torch.isfinite(train["x"]).all()


@pytest.mark.realdata
@pytest.mark.timeout(3600)
def test_real_recordings_train_the_seeds_cnn(real_prepared, tmp_path):
    """audio/spectrogram_cnn/cnn at full settings on one CPU thread (about 10 minutes)."""
    config = {**CONFIG, "device": "cpu"}
    variant = resolve(config, "audio", "spectrogram_cnn", "cnn")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        metrics = train.run(variant, 0, real_prepared, tmp_path)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        torch.set_num_threads(threads)
    history = pd.read_csv(tmp_path / "history.csv")
    best = history.loc[history["test_acc"].idxmax()]
    print(f"\nFSDD real data, {variant.id}, {metrics['params']:,} parameters: test accuracy "
          f"{metrics['test_acc']:.2f} % after {len(history)} epochs (best {best['test_acc']:.2f} % at epoch "
          f"{int(best['epoch'])}); CPU time {cpu:.0f} s, wall time {wall:.0f} s")
    assert len(history) == variant.params["epochs"] and metrics["test_acc"] > 90
