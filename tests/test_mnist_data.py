import gzip

import numpy as np
import pytest
import torch

from reprolab.data.datasets import dataset_module, mnist
from reprolab.data.fixtures import write_fixture
from reprolab.data.formats import read_idx, write_idx
from reprolab.data.prepare import load_split, prepare_dataset
from reprolab.errors import ConfigError, DataError


def test_idx_roundtrip_gz_and_plain(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("a.idx", "a.idx.gz"):
        write_idx(tmp_path / name, array)
        np.testing.assert_array_equal(read_idx(tmp_path / name), array)


def test_idx_header_matches_the_official_format(tmp_path):
    write_idx(tmp_path / "labels.gz", np.zeros(7, dtype=np.uint8))
    raw = gzip.open(tmp_path / "labels.gz").read()
    assert raw[:4] == b"\x00\x00\x08\x01" and int.from_bytes(raw[4:8], "big") == 7


def test_truncated_idx_is_a_clear_error(tmp_path):
    write_idx(tmp_path / "x.gz", np.zeros((10, 28, 28), dtype=np.uint8))
    raw = gzip.open(tmp_path / "x.gz").read()
    with gzip.open(tmp_path / "x.gz", "wb") as f:
        f.write(raw[:-100])
    with pytest.raises(DataError, match="truncated"):
        read_idx(tmp_path / "x.gz")


def test_fixture_prepares_like_the_release(tmp_path):
    write_fixture("mnist", tmp_path / "raw", n_train=60, n_test=20)
    assert {p.name for p in (tmp_path / "raw").iterdir()} == {f.name for f in mnist.FILES} | {"manifest.json"}
    prepare_dataset("mnist", tmp_path / "raw", tmp_path / "prepared")
    train = load_split(tmp_path / "prepared", "train")
    assert train["x"].shape == (60, 1, 28, 28) and train["x"].dtype == torch.uint8
    assert sorted(train["y"].unique().tolist()) == list(range(10))


def test_unknown_dataset_and_missing_split_are_clear(tmp_path):
    with pytest.raises(ConfigError, match="known datasets: .*mnist"):
        dataset_module("imagenet")
    with pytest.raises(DataError, match="snakemake"):
        load_split(tmp_path, "train")
