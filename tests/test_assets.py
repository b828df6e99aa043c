"""Assets: weights checked by the sha256 prefix in their name, GloVe and Gutenberg readers, fixtures."""

import gzip
import json
import shutil
import zipfile
from pathlib import Path

import pytest
import torch
import torchvision

from reprolab.data import datasets
from reprolab.data.assets import ASSETS, asset, asset_file, fetch_asset, write_asset_fixture
from reprolab.data.assets.corpora import read_gutenberg
from reprolab.data.assets.vectors import read_glove
from reprolab.data.assets.weights import hub_file, load_weights, pretrained_backbone
from reprolab.data.download import ChecksumLock, digests, fetch_file
from reprolab.errors import ConfigError, DataError
from reprolab.report.provenance import asset_records, dataset_records

REAL_BOOK = Path("/work/shared/data/fleurs_du_mal/fleurs_mal.txt")


def test_registry_names_and_published_checksums():
    assert not set(ASSETS) & set(datasets.known())  # names key the lock file beside datasets
    assert {a.kind for a in ASSETS.values()} == {"weights", "vectors", "corpus"}
    [vgg] = asset("vgg16").files
    assert vgg.published_checksum == "sha256-prefix:397923af"
    assert vgg.urls == ("https://download.pytorch.org/models/vgg16-397923af.pth",)
    [fid] = asset("fid_inception").files
    assert fid.published_checksum.startswith("sha256:6726825d") and fid.size == 95_628_359
    assert asset("glove6b").files[0].published_checksum == "md5:056ea991adb4740ac6bf1b6d9b50408b"
    assert asset("fleurs_du_mal").files[0].published_checksum is None  # trust on first use
    with pytest.raises(ConfigError, match="known assets: .*vgg16"):
        asset("vgg61")


@pytest.fixture(scope="module")
def squeezenet_file(tmp_path_factory):
    """A squeezenet1_1 state dict named like torchvision's: `squeezenet1_1-<sha256[:8]>.pth`."""
    folder = tmp_path_factory.mktemp("server")
    model = pretrained_backbone("squeezenet1_1", None, seed=1)
    staging = folder / "weights.pth"
    torch.save(model.state_dict(), staging)
    path = folder / f"squeezenet1_1-{digests(staging)['sha256'][:8]}.pth"
    staging.rename(path)
    return path, model


def fetch(remote, dest, tmp_path, **options):
    return fetch_file(remote, dest, "squeezenet1_1", lock=ChecksumLock(tmp_path / "lock.json"),
                      retries=1, backoff=0.01, timeout=5, **options)


def test_weights_matching_their_name_are_accepted_and_load(squeezenet_file, tmp_path):
    path, model = squeezenet_file
    remote = hub_file(path.name, base=path.parent.as_uri() + "/")
    record = fetch(remote, tmp_path / "assets", tmp_path)
    sha256 = digests(path)["sha256"]
    assert record.status == "verified" and record.sha256 == sha256
    assert json.loads((tmp_path / "lock.json").read_text())["squeezenet1_1"][path.name] == sha256
    again = fetch(remote, tmp_path / "assets", tmp_path)  # now checked against the full sha256
    assert again.source == "cache" and again.status == "verified"
    loaded = pretrained_backbone("squeezenet1_1", tmp_path / "assets" / path.name)
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name


def test_weights_not_matching_their_name_are_refused(squeezenet_file, tmp_path):
    path, _ = squeezenet_file
    sha256 = digests(path)["sha256"]
    wrong = ("0" if sha256[0] != "0" else "1") + sha256[1:8]
    served = tmp_path / "server" / f"squeezenet1_1-{wrong}.pth"
    served.parent.mkdir()
    shutil.copyfile(path, served)
    dest = tmp_path / "assets"
    with pytest.raises(DataError) as err:
        fetch(hub_file(served.name, base=served.parent.as_uri() + "/"), dest, tmp_path)
    message = str(err.value)
    assert served.name in message and f"sha256-prefix:{wrong}" in message
    assert str(dest / served.name) in message and "prestaged_dir" in message
    assert not (dest / served.name).exists() and not list(dest.glob("*.part"))
    assert not (tmp_path / "lock.json").exists()


def test_registry_weights_load_from_the_asset_folder(tmp_path):
    """A state dict saved under the registry's file name and manifest is what the backbone gets."""
    folder = tmp_path / "assets" / "squeezenet1_1"
    folder.mkdir(parents=True)
    [remote] = asset("squeezenet1_1").files
    model = torchvision.models.squeezenet1_1(weights=None)
    torch.save(model.state_dict(), folder / remote.name)
    manifest = {"asset": "squeezenet1_1", "files": [{"name": remote.name}]}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    path = asset_file("squeezenet1_1", folder)
    assert path == folder / "squeezenet1_1-b8a52dc0.pth"
    loaded = pretrained_backbone("squeezenet1_1", path)
    assert all(torch.equal(a, b) for a, b in zip(loaded.parameters(), model.parameters(), strict=True))


def test_weights_errors_are_clear(tmp_path):
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="cannot read weights .*junk.pth"):
        load_weights(tmp_path / "junk.pth")
    torch.save(torchvision.models.squeezenet1_0(weights=None).state_dict(), tmp_path / "other.pth")
    with pytest.raises(DataError, match="does not fit torchvision's squeezenet1_1"):
        pretrained_backbone("squeezenet1_1", tmp_path / "other.pth")
    with pytest.raises(ConfigError, match="unknown torchvision architecture"):
        pretrained_backbone("vgg61", None)


def test_random_backbone_is_seeded_and_leaves_the_global_generator_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = pretrained_backbone("squeezenet1_1", None, seed=3)
    assert torch.equal(torch.rand(1), before)
    b = pretrained_backbone("squeezenet1_1", None, seed=3)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    root = tmp_path_factory.mktemp("assets")
    for name in ASSETS:
        write_asset_fixture(name, root / name)
    return root


def test_fixture_manifests_say_what_they_hold(fixtures):
    for name, a in ASSETS.items():
        manifest = json.loads((fixtures / name / "manifest.json").read_text())
        assert manifest["asset"] == name and manifest["kind"] == a.kind and manifest["fixture"]
        assert [f["name"] for f in manifest["files"]] == ([] if a.kind == "weights" else [a.files[0].name])
    assert "randomly initialised" in json.loads((fixtures / "vgg16" / "manifest.json").read_text())["note"]
    assert asset_file("vgg16", fixtures / "vgg16") is None


def test_corpus_fixture_is_a_gutenberg_ebook(fixtures):
    path = fixtures / "fleurs_du_mal" / "pg6099.txt"
    raw = path.read_bytes()
    assert raw.startswith("\ufeff".encode()) and b"\r\n" in raw and "équipage".encode() in raw
    assert b"*** START OF THE PROJECT GUTENBERG EBOOK" in raw and b"*** END OF THE PROJECT" in raw
    text = read_gutenberg(path)
    # As the real ebook: the producer credits first, the older "End of the Project Gutenberg" line dropped
    assert text.startswith("Produced by") and "Charles Baudelaire avait un ami" in text
    assert text.endswith("l'empêchent de marcher.")
    assert "\r" not in text and "Gutenberg" not in text


@pytest.mark.skipif(not REAL_BOOK.is_file(), reason="the real ebook is not on this machine")
def test_real_ebook_is_stripped_of_header_and_licence():
    text = read_gutenberg(REAL_BOOK)
    assert text.startswith("Produced by") and "L'ALBATROS" in text and "\ufeff" not in text
    assert "*** " not in text and "Project Gutenberg" not in text and "LICENSE" not in text
    assert text.endswith("pendant les nuits d'hiver.")


def test_text_without_markers_is_refused(tmp_path):
    (tmp_path / "book.txt").write_text("Souvent, pour s'amuser, les hommes d'équipage\n")
    with pytest.raises(DataError, match="START OF THE PROJECT GUTENBERG EBOOK"):
        read_gutenberg(tmp_path / "book.txt")


def test_glove_fixture_is_glove_text_in_a_zip(fixtures, tmp_path):
    archive = fixtures / "glove6b" / "glove.6B.zip"
    with zipfile.ZipFile(archive) as zf:
        assert "glove.6B.100d.txt" in zf.namelist()
        first = zf.read("glove.6B.100d.txt").decode().splitlines()[0].split(" ")
        zf.extract("glove.6B.100d.txt", tmp_path)
    assert first[0] == "the" and len(first) == 101
    [float(v) for v in first[1:]]  # GloVe's text format: the word, then its values
    words, vectors = read_glove(archive, 100)
    assert 200 <= len(words) == len(set(words)) and vectors.shape == (len(words), 100)
    assert vectors.dtype == torch.float32
    assert torch.equal(read_glove(tmp_path / "glove.6B.100d.txt", 100)[1], vectors)
    some, subset = read_glove(archive, 100, vocabulary=["queen", "king", "absent"])
    assert some == ["king", "queen"] and torch.equal(subset[0], vectors[words.index("king")])
    king, queen, cheese = (vectors[words.index(w)] for w in ("king", "queen", "cheese"))
    cos = torch.nn.functional.cosine_similarity
    assert cos(king, queen, dim=0) > cos(king, cheese, dim=0)  # families share a direction
    with pytest.raises(DataError, match="no 64-d vectors"):
        read_glove(archive, 64)


def test_glove_gensim_mirror_has_a_header(fixtures):
    path = fixtures / "glove6b_100" / "glove-wiki-gigaword-100.gz"
    with gzip.open(path, "rt") as f:
        count, dim = f.readline().split()
    words, vectors = read_glove(path, 100)
    assert int(count) == len(words) and dim == "100" and vectors.shape == (len(words), 100)
    with pytest.raises(DataError, match="header"):
        read_glove(path, 50)


def test_corpus_goes_through_the_downloader_and_provenance(tmp_path):
    """A pre-staged ebook: trust on first use, an asset manifest, a provenance row."""
    staged = tmp_path / "staged" / "fleurs_du_mal"
    write_asset_fixture("fleurs_du_mal", staged)
    (staged / "manifest.json").unlink()
    lock = ChecksumLock(tmp_path / "lock.json")
    dest = tmp_path / "assets" / "fleurs_du_mal"
    [record] = fetch_asset("fleurs_du_mal", dest, lock=lock, prestaged_dir=staged.parent)
    assert record.status == "tofu-recorded" and record.source == str(staged / "pg6099.txt")
    assert lock.get("fleurs_du_mal", "pg6099.txt") == record.sha256
    assert read_gutenberg(asset_file("fleurs_du_mal", dest)).startswith("Produced by")
    write_asset_fixture("vgg16", tmp_path / "assets" / "vgg16")
    manifests = [dest / "manifest.json", tmp_path / "assets" / "vgg16" / "manifest.json"]
    rows = asset_records(manifests)
    assert [(r["asset"], r["kind"], r["status"]) for r in rows] == [
        ("fleurs_du_mal", "corpus", "tofu-recorded"), ("vgg16", "weights", "fixture")]
    assert "Baudelaire" in rows[0]["description"] and not dataset_records(manifests)
