"""The downloader against a real HTTP server on 127.0.0.1 serving real-format files."""

import io
import json
import tarfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from reprolab.data.datasets import mnist
from reprolab.data.download import ChecksumLock, digests, extract, fetch_file
from reprolab.data.sources import RemoteFile
from reprolab.errors import DataError


class RangeHandler(SimpleHTTPRequestHandler):
    """Static files with `Range: bytes=N-` support; `/flaky/` paths drop the first response."""

    dropped: set = set()
    ranges: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        flaky = self.path.startswith("/flaky/")
        path = self.translate_path(self.path.removeprefix("/flaky"))
        try:
            data = open(path, "rb").read()
        except OSError:
            self.send_error(404)
            return
        start = int(self.headers["Range"].split("=")[1].rstrip("-")) if self.headers["Range"] else 0
        self.ranges.append(start)
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        if flaky and self.path not in self.dropped:
            self.dropped.add(self.path)
            self.wfile.write(data[start:start + len(data) // 2])  # then the connection drops
            return
        self.wfile.write(data[start:])


@pytest.fixture
def served(tmp_path):
    """A folder of real MNIST-format files served on 127.0.0.1; yields (folder, base URL)."""
    root = tmp_path / "server"
    root.mkdir()
    mnist.write_fixture(root, 50, 20, np.random.default_rng(0))
    (root / "corrupt.gz").write_bytes((root / "t10k-labels-idx1-ubyte.gz").read_bytes()[:-3] + b"xyz")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(RangeHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def remote(root, base, name, served_as=None, bad_checksum=False, mirrors=()):
    md5 = digests(root / name)["md5"]
    return RemoteFile(name, (*mirrors, base + (served_as or name)),
                      md5="0" * 32 if bad_checksum else md5)


def fetch(rf, dest, tmp_path, **options):
    return fetch_file(rf, dest, "mnist", lock=ChecksumLock(tmp_path / "lock.json"),
                      retries=2, backoff=0.01, timeout=5, **options)


def test_download_is_verified_and_renamed(served, tmp_path):
    root, base = served
    record = fetch(remote(root, base, "train-images-idx3-ubyte.gz"), tmp_path / "raw", tmp_path)
    target = tmp_path / "raw" / "train-images-idx3-ubyte.gz"
    assert target.read_bytes() == (root / target.name).read_bytes()
    assert record.status == "verified" and record.source.startswith("http://127.0.0.1")
    assert not list((tmp_path / "raw").glob("*.part"))


def test_dead_mirror_then_good_one(served, tmp_path):
    root, base = served
    dead = ("http://127.0.0.1:9/", base + "missing/")  # refused connection, then a 404
    rf = remote(root, base, "train-labels-idx1-ubyte.gz", mirrors=tuple(d + "x.gz" for d in dead))
    record = fetch(rf, tmp_path / "raw", tmp_path)
    assert record.source == base + "train-labels-idx1-ubyte.gz"


def test_interrupted_download_resumes(served, tmp_path):
    root, base = served
    name = "train-images-idx3-ubyte.gz"
    RangeHandler.ranges.clear()
    record = fetch(remote(root, base, name, served_as="flaky/" + name), tmp_path / "raw", tmp_path)
    assert record.status == "verified"
    assert RangeHandler.ranges == [0, (root / name).stat().st_size // 2]  # the retry asked for the rest
    assert (tmp_path / "raw" / name).read_bytes() == (root / name).read_bytes()


def test_corrupt_file_fails_strict_with_what_to_do(served, tmp_path):
    root, base = served
    rf = RemoteFile("t10k-labels-idx1-ubyte.gz", (base + "corrupt.gz",),
                    md5=digests(root / "t10k-labels-idx1-ubyte.gz")["md5"])
    with pytest.raises(DataError) as err:
        fetch(rf, tmp_path / "raw", tmp_path)
    message = str(err.value)
    assert base + "corrupt.gz" in message and rf.md5 in message
    assert str(tmp_path / "raw" / rf.name) in message and "prestaged_dir" in message
    assert not (tmp_path / "raw" / rf.name).exists()


def test_corrupt_file_is_kept_and_marked_with_warn(served, tmp_path):
    root, base = served
    rf = remote(root, base, "t10k-labels-idx1-ubyte.gz", bad_checksum=True)
    record = fetch(rf, tmp_path / "raw", tmp_path, verify="warn")
    assert record.status == "differs"


def test_prestaged_copy_is_used_first(served, tmp_path):
    root, _ = served
    rf = RemoteFile("t10k-images-idx3-ubyte.gz", ("http://127.0.0.1:9/never",),
                    md5=digests(root / "t10k-images-idx3-ubyte.gz")["md5"])
    record = fetch(rf, tmp_path / "raw", tmp_path, prestaged_dir=root)
    assert record.source == str(root / rf.name) and record.status == "verified"


def test_trust_on_first_use_records_then_verifies(served, tmp_path):
    root, base = served
    rf = RemoteFile("train-labels-idx1-ubyte.gz", (base + "train-labels-idx1-ubyte.gz",))
    first = fetch(rf, tmp_path / "raw", tmp_path)
    assert first.status == "tofu-recorded"
    lock = json.loads((tmp_path / "lock.json").read_text())
    assert lock["mnist"][rf.name] == digests(root / rf.name)["sha256"]
    second = fetch(rf, tmp_path / "raw2", tmp_path)
    assert second.status == "tofu-verified"
    (tmp_path / "lock.json").write_text(json.dumps({"mnist": {rf.name: "0" * 64}}))
    with pytest.raises(DataError, match="checksum sha256:0000"):
        fetch(rf, tmp_path / "raw3", tmp_path)


def test_nothing_reachable_names_url_checksum_and_path(tmp_path):
    rf = RemoteFile("x.gz", ("http://127.0.0.1:9/x.gz",), md5="a" * 32)
    with pytest.raises(DataError, match=r"(?s)127.0.0.1:9/x.gz.*md5:a{32}.*put it at"):
        fetch(rf, tmp_path / "raw", tmp_path)


def test_extract_refuses_path_escapes(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 4
        tf.addfile(info, io.BytesIO(b"evil"))
    with pytest.raises(DataError, match="unsafe member"):
        extract(archive, tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists()


def test_fetch_options_come_from_the_data_config(tmp_path):
    from reprolab.data.download import ChecksumLock, fetch_options

    options = fetch_options({"prestaged_dir": str(tmp_path), "verify": "warn",
                             "lock_file": str(tmp_path / "lock.json")})
    assert options["prestaged_dir"] == tmp_path and options["verify"] == "warn"
    assert isinstance(options["lock"], ChecksumLock) and options["lock"].path == tmp_path / "lock.json"
    unstaged = fetch_options({"prestaged_dir": None, "verify": "strict", "lock_file": "x"})
    assert unstaged["prestaged_dir"] is None
