"""Datasets of chapter `transfer`: 15-Scene's grayscale duplicated to RGB, VOC 2007's multi-label
targets from the XML annotations (difficult objects as the devkit treats them), release files."""

import io
import tarfile
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from reprolab.data.datasets import scene15, voc2007
from reprolab.data.fixtures import write_fixture
from reprolab.data.prepare import prepare_dataset
from reprolab.errors import DataError

# --- 15-Scene ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scene_raw(tmp_path_factory):
    raw = tmp_path_factory.mktemp("scene15") / "raw"
    write_fixture("scene15", raw, n_train=45, n_test=15)  # 4 images per category
    return raw


def test_scene15_release_is_the_published_zip():
    [remote] = scene15.FILES
    assert remote.name == "scene_categories.zip" and remote.md5 == "58828019197b2ad0a7efb472e7a85c2a"
    assert remote.urls[0].startswith("https://web.archive.org/") and remote.folder == "scene_categories"
    assert len(scene15.CATEGORIES) == 15 and list(scene15.CATEGORIES) == sorted(scene15.CATEGORIES)


def test_scene15_fixture_has_the_release_layout(scene_raw):
    with zipfile.ZipFile(scene_raw / scene15.ARCHIVE) as zf:
        names = zf.namelist()
        with Image.open(io.BytesIO(zf.read(names[0]))) as image:
            assert image.mode == "L" and image.format == "JPEG"
    assert len(names) == 60 and all(n.count("/") == 1 and n.endswith(".jpg") for n in names)
    assert {n.split("/")[0] for n in names} == set(scene15.CATEGORIES)


def test_grayscale_is_duplicated_to_three_channels_when_preparing(scene_raw, tmp_path):
    prepare_dataset("scene15", scene_raw, tmp_path, {"train_per_class": 2, "size": 32})
    train, test = torch.load(tmp_path / "train.pt"), torch.load(tmp_path / "test.pt")
    meta = torch.load(tmp_path / "meta.pt")
    assert train["x"].shape == (30, 3, 32, 32) and test["x"].shape == (30, 3, 32, 32)
    assert train["x"].dtype == torch.uint8
    for split in (train, test):
        x = split["x"]
        assert torch.equal(x[:, 0], x[:, 1]) and torch.equal(x[:, 1], x[:, 2])
    assert torch.bincount(train["y"]).tolist() == [2] * 15 and torch.bincount(test["y"]).tolist() == [2] * 15
    assert meta["categories"] == list(scene15.CATEGORIES) and meta["source_modes"] == {"L": 60}
    assert meta["channels_identical"] is True
    assert not set(meta["files"]["train"]) & set(meta["files"]["test"])
    # each channel is the gray image resized by PIL (bilinear), exactly
    category, name = meta["files"]["train"][0].split("/")
    with zipfile.ZipFile(scene_raw / scene15.ARCHIVE) as zf:
        data = zf.read(f"{category}/{name}")
    with Image.open(io.BytesIO(data)) as im:
        expected = np.asarray(im.convert("L").resize((32, 32), Image.BILINEAR))
    assert np.array_equal(train["x"][0, 0].numpy(), expected)


def test_scene15_split_is_drawn_per_category_with_the_seed():
    categories = [c for c in "abc" for _ in range(5)]
    train, test = scene15.split_indices(categories, 2, split_seed=0)
    again, _ = scene15.split_indices(categories, 2, split_seed=0)
    other, _ = scene15.split_indices(categories, 2, split_seed=1)
    assert np.array_equal(train, again) and not np.array_equal(train, other)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(15))
    assert [categories[i] for i in train].count("b") == 2
    _, few = scene15.split_indices(categories, 2, split_seed=0, test_per_class=1)
    assert len(few) == 3
    with pytest.raises(DataError, match="has 5 images"):
        scene15.split_indices(categories, 5, split_seed=0)


def test_a_prestaged_folder_gives_the_same_tensors(scene_raw, tmp_path):
    staged = tmp_path / "raw"
    with zipfile.ZipFile(scene_raw / scene15.ARCHIVE) as zf:
        zf.extractall(staged / scene15.FOLDER)
    (staged / "manifest.json").write_text((scene_raw / "manifest.json").read_text())
    options = {"train_per_class": 1, "test_per_class": 1, "size": 16}
    prepare_dataset("scene15", scene_raw, tmp_path / "a", options)
    prepare_dataset("scene15", staged, tmp_path / "b", options)
    for split in ("train", "test"):
        a, b = torch.load(tmp_path / "a" / f"{split}.pt"), torch.load(tmp_path / "b" / f"{split}.pt")
        assert torch.equal(a["x"], b["x"]) and torch.equal(a["y"], b["y"])


def test_a_release_of_the_wrong_size_is_refused(scene_raw, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / scene15.ARCHIVE).write_bytes((scene_raw / scene15.ARCHIVE).read_bytes())  # no fixture manifest
    with pytest.raises(DataError, match="15-Scene has 4485"):
        scene15.prepare(raw)
    with pytest.raises(DataError, match="neither scene_categories.zip nor scene_categories/"):
        scene15.prepare(tmp_path / "empty")


# --- PASCAL VOC 2007 -----------------------------------------------------------------------------

def jpg(colour=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def add(tf, name, data: bytes) -> None:
    info = tarfile.TarInfo(f"VOCdevkit/VOC2007/{name}")
    info.size = len(data)
    tf.addfile(info, io.BytesIO(data))


# Three hand-written images: a dog and a person (plus a difficult person); a cat marked difficult only;
# a difficult chair beside a chair that is not.
HAND = {
    "000005": [("dog", False), ("person", True), ("person", False)],
    "000007": [("cat", True)],
    "000009": [("chair", True), ("chair", False), ("bottle", False)],
}


def hand_tar(path, subset="trainval", class_files=True, flip=None):
    box = (1, 1, 10, 10)
    with tarfile.open(path, "w") as tf:
        table = {}
        for image_id, objs in HAND.items():
            xml = voc2007.annotation_xml(image_id, 40, 30, [(n, d, box) for n, d in objs])
            add(tf, f"Annotations/{image_id}.xml", xml.encode())
            add(tf, f"JPEGImages/{image_id}.jpg", jpg())
            table[image_id] = voc2007.flags(xml)
        add(tf, f"ImageSets/Main/{subset}.txt", "".join(f"{i}\n" for i in HAND).encode())
        if class_files:
            for c, name in enumerate(voc2007.CLASSES):
                flags = {i: -table[i][c] if flip == (i, name) else table[i][c] for i in HAND}
                lines = "".join(f"{i} {flag:2d}\n" for i, flag in flags.items())
                add(tf, f"ImageSets/Main/{name}_{subset}.txt", lines.encode())


def test_voc_release_files_and_checksums():
    trainval, test = voc2007.FILES
    assert (trainval.name, trainval.md5, trainval.size) == (
        "VOCtrainval_06-Nov-2007.tar", "c52e279531787c972589f7e41ab4ae64", 460_032_000)
    assert trainval.sha256 == "7d8cd951101b0957ddfd7a530bdc8a94f06121cfc1e511bb5937e973020c7508"
    assert (test.name, test.md5, test.size) == ("VOCtest_06-Nov-2007.tar", "b6e924de25625d8de591ea690078ad9f",
                                                451_020_800)
    assert test.sha256 == "6836888e2e01dca84577a849d339fa4f73e1e4f135d312430c4856b5609b4892"
    assert any("host.robots.ox.ac.uk/pascal/VOC/voc2007/VOCtest_06-Nov-2007.tar" in u for u in test.urls)
    assert len(voc2007.CLASSES) == 20
    assert (voc2007.CLASSES[0], voc2007.CLASSES[-1]) == ("aeroplane", "tvmonitor")


def test_flags_follow_the_devkit_difficult_only_is_zero():
    c = voc2007.CLASSES.index
    box = (1, 1, 5, 5)
    xml = voc2007.annotation_xml("1", 40, 30, [("person", True, box), ("person", False, box),
                                               ("cat", True, box)])
    flags = voc2007.flags(xml)
    assert flags[c("person")] == 1 and flags[c("cat")] == 0 and flags[c("dog")] == -1
    assert (flags == -1).sum() == 18
    with pytest.raises(DataError, match="unknown class 'unicorn'"):
        voc2007.flags(voc2007.annotation_xml("2", 4, 4, [("unicorn", False, (1, 1, 2, 2))]))


def test_multilabel_targets_of_a_hand_written_voc_tar(tmp_path):
    hand_tar(tmp_path / "trainval.tar")
    data = voc2007.read_split(tmp_path / "trainval.tar", "trainval", size=16)
    c = voc2007.CLASSES.index
    expected = np.zeros((3, 20), dtype=np.uint8)
    expected[0, [c("dog"), c("person")]] = 1  # the difficult person does not hide the other one
    expected[2, [c("chair"), c("bottle")]] = 1
    assert data["ids"] == list(HAND) and np.array_equal(data["y"].numpy(), expected)
    difficult = data["flags"].numpy() == 0
    assert difficult.sum() == 1 and difficult[1, c("cat")]  # the cat: difficult only, a negative target
    assert data["x"].shape == (3, 3, 16, 16) and data["x"].dtype == torch.uint8
    assert data["x"][0, 0].float().mean() > 150 and data["x"][0, 2].float().mean() < 80  # red stays red


def test_annotations_that_disagree_with_the_devkit_label_files_are_refused(tmp_path):
    hand_tar(tmp_path / "bad.tar", flip=("000005", "dog"))
    with pytest.raises(DataError, match="disagree with ImageSets/Main/dog_trainval.txt"):
        voc2007.read_split(tmp_path / "bad.tar", "trainval", size=8)
    hand_tar(tmp_path / "bare.tar", class_files=False)  # the label files are optional
    assert voc2007.read_split(tmp_path / "bare.tar", "trainval", size=8)["y"].sum() == 4
    with pytest.raises(DataError, match="lists 3 images in trainval, VOC 2007 has 5011"):
        voc2007.read_split(tmp_path / "bare.tar", "trainval", size=8, expected=5011)


def test_voc_fixture_prepares_into_trainval_and_test(tmp_path):
    write_fixture("voc2007", tmp_path / "raw", n_train=10, n_test=10)
    with tarfile.open(tmp_path / "raw" / voc2007.TEST) as tf:
        names = tf.getnames()
    assert "VOCdevkit/VOC2007/ImageSets/Main/test.txt" in names
    assert "VOCdevkit/VOC2007/ImageSets/Main/dog_test.txt" in names
    prepare_dataset("voc2007", tmp_path / "raw", tmp_path / "prepared", {"size": 24, "limit": {"train": 6}})
    folder = tmp_path / "prepared"
    train, test, meta = (torch.load(folder / f"{name}.pt") for name in ("train", "test", "meta"))
    assert train["x"].shape == (6, 3, 24, 24) and test["y"].shape == (10, 20)
    assert train["y"].dtype == torch.uint8
    assert meta["classes"] == list(voc2007.CLASSES) and len(meta["ids"]["test"]) == 10
    assert torch.equal(meta["difficult"]["test"], meta["flags"]["test"] == 0)
    assert not set(meta["ids"]["train"]) & set(meta["ids"]["test"])
    assert (train["y"].sum(1) >= 0).all() and test["y"].sum() > 0
