"""Fault injection, downloads and archives (issue 15, faults 2 and 3).

A local HTTP server on 127.0.0.1 misbehaves on purpose: it drops a chunked transfer, changes the
file between two attempts, answers a range request from the wrong offset, streams without end,
hangs, answers 404 and 500. Archives hold `../` members, absolute paths, links out of the folder,
and members far larger than the archive. No test touches the network.
"""

from __future__ import annotations

import hashlib
import io
import json
import socket
import tarfile
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from reprolab.data.download import ChecksumLock, extract, fetch_file
from reprolab.data.sources import RemoteFile
from reprolab.errors import DataError

CONTENT = bytes(range(256)) * 400  # 100 kB
CHANGED = bytes(reversed(range(256))) * 400  # the same size, other bytes: "the upstream file changed"


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Upstream:
    """What the server serves, and how it misbehaves, path by path."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.faults: dict[str, set[str]] = {}
        self.requests: list[tuple[str, dict]] = []
        self.after_drop = None  # called once the first dropped response has gone

    def serve(self, path: str, data: bytes, *faults: str) -> str:
        self.files[path], self.faults[path] = data, set(faults)
        return path


class Handler(BaseHTTPRequestHandler):
    """Range, If-Range and ETag as a real server has them, plus the faults of `Upstream`.

    Faults: `drop` (the first response stops half-way and the connection closes), `chunked`
    (chunked transfer encoding), `wrong-range` (a range request answered 206 from byte 0),
    `endless` (no length, data without end), `hang` (never answers), `500`, `no-validators`
    (no ETag, no Last-Modified).
    """

    protocol_version = "HTTP/1.1"
    upstream: Upstream

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: C901 - one branch per fault, in the order a response is made
        up = self.upstream
        up.requests.append((self.path, dict(self.headers)))
        if self.path not in up.files:
            self.send_error(404)
            return
        data, faults = up.files[self.path], up.faults[self.path]
        if "hang" in faults:
            time.sleep(3)
            return
        if "500" in faults:
            self.send_error(500)
            return
        etag = f'"{sha256(data)[:16]}"'
        start = 0
        if self.headers["Range"] and self.headers.get("If-Range", etag) == etag:
            start = int(self.headers["Range"].split("=")[1].rstrip("-"))
        body = data if "wrong-range" in faults else data[start:]
        self.send_response(206 if start else 200)
        if start:
            first = 0 if "wrong-range" in faults else start
            self.send_header("Content-Range", f"bytes {first}-{len(data) - 1}/{len(data)}")
        if "no-validators" not in faults:
            self.send_header("ETag", etag)
        if "chunked" in faults or "endless" in faults:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if "endless" in faults:
            for _ in range(1000):  # 100 MB unless the client stops reading
                self._chunk(data)
            return
        if "drop" in faults:
            faults.discard("drop")
            half = body[: len(body) // 2]
            if "chunked" in faults:
                self.wfile.write(f"{len(body):x}\r\n".encode() + half)  # announces it all, sends half
            else:
                self.wfile.write(half)
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            if up.after_drop:
                up.after_drop()
            return
        if "chunked" in faults:
            self._chunk(body)
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(body)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")


@pytest.fixture
def upstream():
    """An `Upstream` served on 127.0.0.1; yields (upstream, base URL)."""
    up = Upstream()
    handler = type("Bound", (Handler,), {"upstream": up})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield up, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def fetch(remote, tmp_path, **options):
    options = {"retries": 2, "backoff": 0.01, "timeout": 5} | options
    return fetch_file(remote, tmp_path / "raw", "toy", lock=ChecksumLock(tmp_path / "lock.json"), **options)


# -- fault 2: interrupted, corrupt, dead, hanging ------------------------------------------------

def test_a_dropped_chunked_transfer_is_retried_and_resumed(upstream, tmp_path):
    """Known defect: `http.client.IncompleteRead` is no `OSError` and escaped the retries."""
    up, base = upstream
    path = up.serve("/data.bin", CONTENT, "chunked", "drop")
    record = fetch(RemoteFile("data.bin", (base + path,), md5=md5(CONTENT)), tmp_path)
    assert record.status == "verified"
    assert (tmp_path / "raw" / "data.bin").read_bytes() == CONTENT
    assert len(up.requests) == 2 and "Range" not in up.requests[0][1]


def test_a_resumed_download_of_a_changed_file_starts_again(upstream, tmp_path):
    """No published checksum: the `.part` of the old file must not be spliced with the new one's end
    (known defect: no `If-Range`, no look at `Content-Range`), and the lock must record the new file."""
    up, base = upstream
    path = up.serve("/book.txt", CONTENT, "drop")
    up.after_drop = lambda: up.serve(path, CHANGED)  # upstream changes while we wait to retry
    record = fetch(RemoteFile("book.txt", (base + path,)), tmp_path)
    assert (tmp_path / "raw" / "book.txt").read_bytes() == CHANGED
    assert record.status == "tofu-recorded"
    assert json.loads((tmp_path / "lock.json").read_text())["toy"]["book.txt"] == sha256(CHANGED)
    assert up.requests[1][1]["If-Range"] == f'"{sha256(CONTENT)[:16]}"'


def test_a_range_answered_from_the_wrong_offset_is_not_appended(upstream, tmp_path):
    up, base = upstream
    path = up.serve("/book.txt", CONTENT, "drop", "wrong-range")
    fetch(RemoteFile("book.txt", (base + path,)), tmp_path, retries=3)
    assert (tmp_path / "raw" / "book.txt").read_bytes() == CONTENT


def test_a_part_without_validator_is_not_resumed_for_an_unchecked_file(upstream, tmp_path):
    """A `.part` left by an earlier run, from a server that gives no ETag: nothing proves it is the
    beginning of today's file, and no checksum would catch a splice: download it whole."""
    up, base = upstream
    path = up.serve("/book.txt", CHANGED, "no-validators")
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "book.txt.part").write_bytes(CONTENT[:5000])
    fetch(RemoteFile("book.txt", (base + path,)), tmp_path)
    assert (tmp_path / "raw" / "book.txt").read_bytes() == CHANGED
    assert "Range" not in up.requests[0][1]


def test_a_stale_part_that_fails_the_checksum_is_downloaded_again_whole(upstream, tmp_path):
    up, base = upstream
    path = up.serve("/data.bin", CONTENT)
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "data.bin.part").write_bytes(CHANGED[:5000])  # an older release's beginning
    record = fetch(RemoteFile("data.bin", (base + path,), md5=md5(CONTENT)), tmp_path)
    assert record.status == "verified" and (tmp_path / "raw" / "data.bin").read_bytes() == CONTENT
    assert [h.get("Range") for _, h in up.requests] == ["bytes=5000-", None]


def test_declared_size_stops_an_endless_stream_and_the_next_mirror_is_used(upstream, tmp_path):
    """Known defect: declared sizes were never checked; a server streaming without end filled the disk."""
    up, base = upstream
    endless = up.serve("/endless/data.bin", CONTENT, "endless")
    good = up.serve("/data.bin", CONTENT)
    rf = RemoteFile("data.bin", (base + endless, base + good), md5=md5(CONTENT), size=len(CONTENT))
    record = fetch(rf, tmp_path)
    assert record.source == base + good
    assert len(up.requests) == 2  # the endless mirror is not retried: it serves the wrong thing


def test_declared_size_refuses_a_wrong_file_without_checksum(upstream, tmp_path):
    up, base = upstream
    path = up.serve("/book.txt", CONTENT[:1000])
    with pytest.raises(DataError, match=f"(?s){len(CONTENT)} bytes expected.*1000"):
        fetch(RemoteFile("book.txt", (base + path,), size=len(CONTENT)), tmp_path)
    assert not (tmp_path / "raw" / "book.txt").exists() and not (tmp_path / "lock.json").exists()


def test_dead_500_404_hanging_and_corrupt_mirrors_then_a_good_one(upstream, tmp_path):
    up, base = upstream
    mirrors = ("http://127.0.0.1:9/data.bin",  # refused
               base + up.serve("/500/data.bin", CONTENT, "500"),
               base + "/404/data.bin",
               base + up.serve("/hang/data.bin", CONTENT, "hang"),
               base + up.serve("/corrupt/data.bin", CHANGED),
               base + up.serve("/data.bin", CONTENT))
    tic = time.perf_counter()
    record = fetch(RemoteFile("data.bin", mirrors, md5=md5(CONTENT)), tmp_path, timeout=0.3)
    assert record.source == mirrors[-1] and record.status == "verified"
    assert time.perf_counter() - tic < 3  # the hanging mirror costs two timeouts, not forever
    assert not list((tmp_path / "raw").glob("*.part*"))


def test_when_every_mirror_fails_the_error_names_the_file_urls_and_where_to_put_it(upstream, tmp_path):
    up, base = upstream
    mirrors = (base + up.serve("/half/data.bin", CONTENT, "drop"), base + "/404/data.bin",
               base + up.serve("/500/data.bin", CONTENT, "500"))
    up.after_drop = lambda: up.serve("/half/data.bin", CONTENT, "500")
    with pytest.raises(DataError) as err:
        fetch(RemoteFile("data.bin", mirrors, md5=md5(CONTENT)), tmp_path, prestaged_dir=tmp_path / "staged")
    message = str(err.value)
    assert "'data.bin'" in message and all(url in message for url in mirrors)
    assert f"md5:{md5(CONTENT)}" in message and "prestaged_dir" in message
    assert str(tmp_path / "raw" / "data.bin") in message
    assert not (tmp_path / "raw" / "data.bin").exists()  # the half file is only ever a `.part`


# -- fault 3: hostile archives ------------------------------------------------------------------

def tar_with(path, *members):
    """A tar.gz of `(TarInfo, data)` members."""
    with tarfile.open(path, "w:gz") as tf:
        for info, data in members:
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def member(name, kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


@pytest.mark.parametrize("members", [
    [(member("../escaped.txt"), b"evil")],
    [(member("{outside}/escaped.txt"), b"evil")],  # an absolute path
    [(member("link", tarfile.SYMTYPE, "{outside}"), b""), (member("link/escaped.txt"), b"evil")],
    [(member("link", tarfile.SYMTYPE, "../../outside"), b""), (member("link/escaped.txt"), b"evil")],
    [(member("hard", tarfile.LNKTYPE, "{outside}/victim.txt"), b"")],
    [(member("dev", tarfile.CHRTYPE), b"")],
], ids=["dotdot", "absolute", "symlink-absolute", "symlink-relative", "hardlink", "device"])
def test_hostile_tar_members_are_refused_and_nothing_lands_outside(tmp_path, members):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_text("keep me")
    fill = {"outside": str(outside)}
    for info, _ in members:
        info.name, info.linkname = info.name.format(**fill), info.linkname.format(**fill)
    archive = tar_with(tmp_path / "evil.tar.gz", *members)
    with pytest.raises(DataError, match="evil.tar.gz"):
        extract(archive, tmp_path / "dataset" / "unpacked")
    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"]
    assert (outside / "victim.txt").read_text() == "keep me"
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "dataset" / "escaped.txt").exists()


@pytest.mark.parametrize("name", ["../escaped.txt", "/tmp/escaped-by-reprolab-test.txt"])
def test_hostile_zip_members_are_refused(tmp_path, name):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(zipfile.ZipInfo(name), b"evil")
    with pytest.raises(DataError, match="escapes"):
        extract(archive, tmp_path / "dataset")
    assert not (tmp_path / "escaped.txt").exists()


def test_a_tar_member_far_larger_than_its_archive_is_refused_before_it_is_written(tmp_path):
    """A bomb: the header announces 50 GB (the data need not even be there)."""
    info = member("bomb.bin")
    info.size = 50 * 10**9
    archive = tmp_path / "bomb.tar"
    archive.write_bytes(info.tobuf(format=tarfile.GNU_FORMAT) + b"\0" * 1024)
    with pytest.raises(DataError, match="(?s)bomb.tar.*50.0 GB"):
        extract(archive, tmp_path / "dataset")
    assert not (tmp_path / "dataset" / "bomb.bin").exists()


def test_a_zip_bomb_beyond_the_limit_is_refused_before_it_is_written(tmp_path):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", b"\0" * 2_000_000)  # 2 MB from about 2 kB
    with pytest.raises(DataError, match="(?s)bomb.zip.*2.0 MB"):
        extract(archive, tmp_path / "dataset", max_bytes=1_000_000)
    assert not (tmp_path / "dataset" / "zeros.bin").exists()
    extract(archive, tmp_path / "dataset", max_bytes=3_000_000)  # under the limit: unpacked
    assert (tmp_path / "dataset" / "zeros.bin").stat().st_size == 2_000_000


def test_a_truncated_archive_is_a_clear_error_naming_it(tmp_path):
    good = tar_with(tmp_path / "good.tar.gz", (member("a.bin"), CONTENT))
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(DataError, match="truncated.tar.gz.*fetch it again"):
        extract(truncated, tmp_path / "dataset")
