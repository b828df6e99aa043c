"""Fetch dataset and asset files safely: pre-staged copy first, then each mirror in turn.

Every file goes to `<name>.part` (resumed with an HTTP Range request where the server
allows), is verified against the published checksum (or the trust-on-first-use lock file),
and only then renamed into place, so an interrupted or corrupt download never looks done.
Written on the standard library (urllib handles http, https and file URLs alike) because
resuming a partial download is the one thing the usual helpers (pooch, torchvision) lack.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import logging
import lzma
import os
import shutil
import sys
import tarfile
import time
import zipfile
import zlib
from dataclasses import asdict, dataclass
from http.client import HTTPException
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

from tqdm import tqdm

from reprolab.atomic import write_json, write_text
from reprolab.data.sources import RemoteFile, files_of
from reprolab.errors import DataError

log = logging.getLogger(__name__)
CHUNK = 1 << 20


@dataclass
class FileRecord:
    """What the report's provenance says about one dataset or asset file."""

    name: str
    sha256: str
    size: int
    source: str  # URL, pre-staged path, "cache" or "fixture"
    status: str  # verified | tofu-recorded | tofu-verified | differs | fixture
    expected: str | None = None


def digests(path: Path) -> dict[str, str]:
    """md5 and sha256 of a file, in one pass."""
    md5, sha = hashlib.md5(), hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            md5.update(chunk)
            sha.update(chunk)
    return {"md5": md5.hexdigest(), "sha256": sha.hexdigest()}


class ChecksumLock:
    """sha256 of files whose publisher gives no checksum, recorded at first download.

    A JSON file the user can commit: `{dataset: {file: sha256}}`. Writes hold an exclusive
    lock so that parallel download jobs never lose each other's entries, and replace the file
    whole (`atomic_write`): a full disk never leaves it truncated.
    """

    def __init__(self, path: Path):
        self.path = Path(path)

    def get(self, dataset: str, name: str) -> str | None:
        if not self.path.exists():
            return None
        return json.loads(self.path.read_text() or "{}").get(dataset, {}).get(name)

    def record(self, dataset: str, name: str, sha256: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            with open(self.path, "a+") as f:
                fcntl.flock(f, fcntl.LOCK_EX)
                if os.fstat(f.fileno()).st_ino != os.stat(self.path).st_ino:
                    continue  # another job replaced the file while we waited: lock the new one
                f.seek(0)
                entries = json.loads(f.read() or "{}")
                entries.setdefault(dataset, {})[name] = sha256
                write_text(self.path, json.dumps(entries, indent=2, sort_keys=True) + "\n")
                return


class WrongFile(DataError):
    """A source serves something other than the release file (wrong size): not worth a retry."""


def _validator(headers) -> str | None:
    """What `If-Range` can quote: a strong ETag, else Last-Modified."""
    etag = headers.get("ETag")
    return etag if etag and not etag.startswith("W/") else headers.get("Last-Modified")


def _resume_point(part: Path, url: str, unchecked: bool) -> tuple[int, str | None]:
    """Bytes of `part` worth resuming from `url`, and the validator to send as `If-Range`.

    The server's validator of the first response is kept beside the `.part`
    (`<name>.part.json`). A `.part` is resumed with `If-Range`, so that a server whose file
    changed sends it whole; without a validator (or from another URL), a `.part` is resumed only
    for a file with a checksum to catch a splice (`unchecked` false).
    """
    have = part.stat().st_size if part.exists() else 0
    meta = _meta_path(part)
    try:
        saved = json.loads(meta.read_text()) if have and meta.exists() else {}
    except ValueError:
        saved = {}
    validator = saved.get("validator") if saved.get("url") == url else None
    if have and unchecked and validator is None:
        log.info("%s: no validator proves it is the start of today's %s; downloading it whole", part, url)
        return 0, None
    return have, validator


def _meta_path(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def _content_range(headers) -> tuple[int, int | None] | None:
    """(first byte, total) of a `Content-Range: bytes first-last/total` header."""
    value = headers.get("Content-Range", "")
    try:
        span, total = value.removeprefix("bytes ").split("/")
        return int(span.split("-")[0]), None if total == "*" else int(total)
    except ValueError:
        return None


def _open_response(url: str, part: Path, have: int, validator: str | None, timeout: float,
                   unchecked: bool):
    """The response to a GET of `url` (a range from `have` when resuming) and the byte it starts at.

    A 206 continues our bytes only if its `Content-Range` starts at `have` (a server that omits it
    is believed only when a checksum will check the result) and its validator is ours.
    """
    headers = {"User-Agent": "reprolab"}
    if have:
        headers["Range"] = f"bytes={have}-"
        if validator:
            headers["If-Range"] = validator
    resp = urlopen(Request(url, headers=headers), timeout=timeout)
    start = 0
    if have and resp.status == 206:
        span = _content_range(resp.headers)
        same = validator is None or _validator(resp.headers) in (None, validator)
        if (span[0] != have if span else unchecked) or not same:
            resp.close()
            part.unlink(missing_ok=True)  # not the continuation of our bytes: start again
            raise OSError(f"{url} answered a range request with {resp.headers.get('Content-Range')!r} "
                          f"for bytes {have}-; downloading it whole")
        start = have
    elif resp.status == 200:
        _meta_path(part).write_text(json.dumps({"url": url, "validator": _validator(resp.headers)}))
    return resp, start


def _total(resp, start: int) -> int | None:
    span = _content_range(resp.headers) if start else None
    if span and span[1] is not None:
        return span[1]
    length = resp.headers.get("Content-Length")
    return int(length) + start if length else None


def _download(url: str, part: Path, retries: int, backoff: float, timeout: float,
              size: int | None = None, unchecked: bool = False) -> bool:
    """Download `url` into `part`, resuming what is there; retry with exponential back-off.

    `size`: the declared size; a server announcing or sending another size is not read further
    (`WrongFile`). `unchecked`: no checksum will verify the file (see `_resume_point`). True when
    the file continues bytes of a `.part` that was there before the call.
    """
    last_error: Exception | None = None
    inherited = False
    for attempt in range(retries):
        have, validator = _resume_point(part, url, unchecked)
        try:
            resp, start = _open_response(url, part, have, validator, timeout, unchecked)
            inherited = start > 0 and (attempt == 0 or inherited)
            with resp:
                total = _total(resp, start)
                if size is not None and total is not None and total != size:
                    raise WrongFile(f"{size} bytes expected, {url} serves {total}")
                with open(part, "ab" if start else "wb") as out, tqdm(
                    total=total, initial=start, unit="B", unit_scale=True,
                    desc=part.stem, disable=None, leave=False,
                ) as bar:
                    while chunk := resp.read(CHUNK):
                        out.write(chunk)
                        bar.update(len(chunk))
                        if size is not None and out.tell() > size:
                            raise WrongFile(f"{size} bytes expected, {url} sends more")
            if total is not None and part.stat().st_size < total:
                raise OSError(f"connection closed at {part.stat().st_size} of {total} bytes")
            return inherited
        except HTTPError as e:
            if e.code == 416:  # range beyond the end: our partial file is stale
                part.unlink(missing_ok=True)
            elif 400 <= e.code < 500 and e.code not in (408, 429):
                raise  # not found, forbidden...: retrying will not help
            last_error = e
        except (URLError, OSError, HTTPException) as e:  # HTTPException: IncompleteRead, a bad status line
            last_error = e
        if attempt + 1 < retries:
            wait = backoff * 2**attempt
            log.warning("download of %s failed (%s); retrying in %.1f s", url, last_error, wait)
            time.sleep(wait)
    assert last_error is not None
    raise last_error


def _staged(remote: RemoteFile, dataset: str, prestaged_dir: Path | None) -> list[str]:
    if prestaged_dir is None:
        return []
    paths = (Path(prestaged_dir) / remote.name, Path(prestaged_dir) / dataset / remote.name)
    return [str(path) for path in paths if path.is_file()]


def _candidates(remote: RemoteFile, dataset: str, prestaged_dir: Path | None) -> list[str]:
    drive = [f"gdrive:{remote.gdrive_id}"] if remote.gdrive_id else []
    return _staged(remote, dataset, prestaged_dir) + list(remote.urls) + drive


def _download_gdrive(file_id: str, part: Path) -> None:
    """A Google Drive file, with gdown (it gets past Drive's virus-scan confirmation page)."""
    try:
        import gdown
        from gdown.exceptions import FileURLRetrievalError
    except ImportError as e:
        raise OSError("Google Drive downloads need gdown: pip install gdown") from e
    try:
        done = gdown.download(id=file_id, output=str(part), quiet=not sys.stderr.isatty(), resume=True)
    except FileURLRetrievalError as e:
        raise OSError(f"Google Drive did not serve the file (quota exceeded, or not shared): {e}") from e
    if done is None:
        raise OSError(f"gdown could not download Google Drive file {file_id}")
    with open(part, "rb") as f:
        head = f.read(512).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):  # Drive's "quota exceeded" or sign-in page
        part.unlink()
        raise OSError("Google Drive sent a web page instead of the file (quota exceeded: too many "
                      "downloads of it in the last 24 hours, or the file is not shared)")


def drive_advice(remote: RemoteFile, target: Path, dataset: str) -> str:
    """How to get a Google Drive file by hand when Drive refuses it (its daily download quota)."""
    return (f"  Google Drive: Drive refuses a popular file for up to 24 hours once too many people have "
            f"downloaded it (\"quota exceeded\"); retrying now will not help. Pre-stage it instead: open "
            f"https://drive.google.com/uc?id={remote.gdrive_id}&export=download in a browser (signed in to "
            f"Google; or add the file to your own Drive and download your copy), check its "
            f"{remote.published_checksum or 'sha256 (recorded at first use)'}, and put {remote.name} at "
            f"{target} or in the folder named by data.prestaged_dir (as <dir>/{remote.name} or "
            f"<dir>/{dataset}/{remote.name}" + (f"; its unpacked {remote.folder}/ folder is accepted too"
                                                 if remote.folder else "") + ")\n")


def _staged_folder(remote: RemoteFile, dataset: str, prestaged_dir: Path | None) -> Path | None:
    """A pre-staged copy of the archive's data folder: `<dir>/<folder>`, `<dir>/<dataset>/<folder>`
    or `<dir>` itself when it is named like the folder."""
    if remote.folder is None or prestaged_dir is None:
        return None
    root = Path(prestaged_dir)
    for path in (root / remote.folder, root / dataset / remote.folder, root):
        if path.is_dir() and path.name == remote.folder:
            return path
    return None


def tree_digest(folder: Path) -> tuple[str, int]:
    """sha256 of a folder (over its files' relative names and sha256, sorted) and its size in bytes."""
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file())
    listing = "".join(f"{p.relative_to(folder).as_posix()}  {digests(p)['sha256']}\n" for p in files)
    return hashlib.sha256(listing.encode()).hexdigest(), sum(p.stat().st_size for p in files)


def _copy_staged_folder(remote: RemoteFile, source: Path, dest_dir: Path, dataset: str,
                        lock: ChecksumLock, verify: str) -> FileRecord:
    """Copy a pre-staged data folder into `dest_dir`, verified by trust on first use."""
    name = f"{remote.folder}/"
    sha, size = tree_digest(source)
    pinned = lock.get(dataset, name)
    if pinned and pinned != sha:
        message = (f"pre-staged folder {source} differs from the one recorded in {lock.path} "
                   f"(sha256 {pinned} expected, got {sha})")
        if verify == "strict":
            raise DataError(f"{message}; restore the original copy, or remove the entry {dataset}/{name} "
                            f"from {lock.path} to trust this one")
        log.warning("%s; kept because data.verify is 'warn'", message)
    target = Path(dest_dir) / remote.folder
    partial = target.with_name(target.name + ".part")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(source, partial)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(partial, target)
    if pinned is None:
        lock.record(dataset, name, sha)
        status = "tofu-recorded"
    else:
        status = "tofu-verified" if pinned == sha else "differs"
    return FileRecord(name, sha, size, str(source), status, f"sha256:{lock.get(dataset, name)}")


def _verify(path: Path, expected: str | None, size: int | None) -> tuple[str, bool | None, str]:
    """sha256 of `path`, whether it matches the declared size and `expected` (None: nothing to
    compare), and what differs."""
    sha, ok = _check(path, expected)
    actual = path.stat().st_size
    if size is not None and actual != size:
        return sha, False, f"{size} bytes expected, got {actual}"
    return sha, ok, f"checksum {expected} expected, got sha256:{sha}"


def _check(path: Path, expected: str | None) -> tuple[str, bool | None]:
    """sha256 of `path` and whether it matches `expected` (None: nothing to compare)."""
    sums = digests(path)
    if expected is None:
        return sums["sha256"], None
    algo, value = expected.split(":", 1)
    if algo == "sha256-prefix":
        return sums["sha256"], sums["sha256"].startswith(value.lower())
    return sums["sha256"], sums[algo] == value.lower()


def _expected(remote: RemoteFile, pinned: str | None) -> str | None:
    """The checksum a copy must match: the published one, else the one recorded at first use.

    A published sha256 prefix gives way to the full sha256 recorded when it was first verified.
    """
    if remote.sha256_prefix and pinned and pinned.startswith(remote.sha256_prefix):
        return f"sha256:{pinned}"
    return remote.published_checksum or (f"sha256:{pinned}" if pinned else None)


def fetch_file(
    remote: RemoteFile,
    dest_dir: Path,
    dataset: str,
    *,
    lock: ChecksumLock,
    prestaged_dir: Path | None = None,
    verify: str = "strict",
    retries: int = 3,
    backoff: float = 1.0,
    timeout: float = 60.0,
) -> FileRecord:
    """Make `dest_dir/remote.name` a verified copy of the release file; say how."""
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / remote.name
    published = remote.published_checksum
    expected = _expected(remote, lock.get(dataset, remote.name))

    if target.exists():
        sha, ok, why = _verify(target, expected, remote.size)
        if ok is not False:
            return _record(remote, target, sha, "cache", ok, published, dataset, lock)
        log.warning("%s: %s; fetching it again", target, why)

    folder = _staged_folder(remote, dataset, prestaged_dir)
    if folder is not None and not _staged(remote, dataset, prestaged_dir):
        return _copy_staged_folder(remote, folder, dest_dir, dataset, lock, verify)

    part = target.with_name(target.name + ".part")
    failures = []
    for source in _candidates(remote, dataset, prestaged_dir):
        try:
            sha, ok, why = _get(source, part, expected, remote.size, retries, backoff, timeout)
        except WrongFile as e:
            failures.append(f"{source}: {e}")
            _discard(part)
            continue
        except (OSError, URLError, HTTPException) as e:
            failures.append(f"{source}: {e}")
            continue
        if ok is False and verify == "strict":
            failures.append(f"{source}: {why}")
            _discard(part)
            continue
        if ok is False:
            log.warning("%s from %s differs from the official release (%s); "
                        "kept because data.verify is 'warn'", remote.name, source, why)
        os.replace(part, target)
        _meta_path(part).unlink(missing_ok=True)
        return _record(remote, target, sha, source, ok, published, dataset, lock)

    raise DataError(
        f"could not get {dataset} file {remote.name!r}.\n"
        + "".join(f"  tried {f}\n" for f in failures)
        + f"  URLs: {', '.join(remote.urls) or '-'}"
        + (f", Google Drive file id {remote.gdrive_id}" if remote.gdrive_id else "") + "\n"
        + f"  expected checksum: {expected or 'none published (recorded at first download)'}\n"
        + f"  fix: download it by hand and put it at {target} "
        + "(or in the folder named by data.prestaged_dir"
        + (f"; its unpacked {remote.folder}/ folder is accepted too" if remote.folder else "")
        + "), then run again\n"
        + (drive_advice(remote, target, dataset) if remote.gdrive_id else "")
    )


def _get(source: str, part: Path, expected: str | None, size: int | None, retries: int, backoff: float,
         timeout: float) -> tuple[str, bool | None, str]:
    """Copy or download `source` into `part`, then `_verify` it. A download that continued an
    earlier `.part` and does not verify is downloaded again, whole (the `.part` may be stale)."""
    if source.startswith("gdrive:"):
        _download_gdrive(source.removeprefix("gdrive:"), part)
    elif "://" not in source:
        shutil.copyfile(source, part)
    elif _download(source, part, retries, backoff, timeout, size, unchecked=expected is None):
        sha, ok, why = _verify(part, expected, size)
        if ok is not False:
            return sha, ok, why
        log.warning("%s continued an earlier %s and %s; downloading it whole", source, part.name, why)
        _discard(part)
        _download(source, part, retries, backoff, timeout, size, unchecked=expected is None)
    return _verify(part, expected, size)


def _discard(part: Path) -> None:
    part.unlink(missing_ok=True)
    _meta_path(part).unlink(missing_ok=True)


def _record(remote, target, sha, source, ok, published, dataset, lock) -> FileRecord:
    if ok is None or (ok and remote.sha256_prefix and lock.get(dataset, remote.name) is None):
        lock.record(dataset, remote.name, sha)  # a prefix-verified file: its full sha256 too
    if ok is None:
        status = "tofu-recorded"
    elif ok:
        status = "verified" if published else "tofu-verified"
    else:
        status = "differs"
    expected = published or f"sha256:{lock.get(dataset, remote.name)}"
    return FileRecord(remote.name, sha, target.stat().st_size, source, status, expected)


def fetch(files: tuple[RemoteFile, ...], dest_dir: Path, name: str, **options) -> list[FileRecord]:
    """Fetch `files` into `dest_dir`; `name` (a dataset or an asset) keys the lock file and the
    pre-staged sub-folder. `options` are `fetch_file`'s."""
    return [fetch_file(remote, Path(dest_dir), name, **options) for remote in files]


def fetch_options(data: dict) -> dict:
    """`fetch_file`'s options from config `data`: pre-staged folder, verification, the lock file."""
    return {"prestaged_dir": data["prestaged_dir"] and Path(data["prestaged_dir"]),
            "verify": data["verify"], "lock": ChecksumLock(Path(data["lock_file"]))}


def fetch_dataset(dataset: str, dest_dir: Path, **options) -> list[FileRecord]:
    """Fetch every file of `dataset` into `dest_dir` and write its `manifest.json`."""
    records = fetch(files_of(dataset), dest_dir, dataset, **options)
    write_manifest(Path(dest_dir), records, dataset=dataset)
    return records


def write_manifest(dest_dir: Path, records: list[FileRecord], **header) -> Path:
    """`manifest.json`: the provenance of a dataset or asset folder, read by the report.

    `header` names what the folder holds: `dataset=...`, or `asset=..., kind=..., ...`.
    """
    path = Path(dest_dir) / "manifest.json"
    return write_json(path, {**header, "files": [asdict(r) for r in records]})


MAX_RATIO = 100  # unpacked bytes per archive byte beyond which an archive is a bomb (real data: < 10)
MIN_LIMIT = 1 << 30  # ...but any archive may unpack to 1 GiB
MAX_MEMBERS = 1_000_000


def extraction_limit(archive: Path) -> int:
    """The most bytes `archive` may unpack to: `MAX_RATIO` times its size, at least `MIN_LIMIT`."""
    return max(MIN_LIMIT, MAX_RATIO * Path(archive).stat().st_size)


def _size(n: int) -> str:
    return next(f"{n / 10**p:.1f} {unit}" for p, unit in ((12, "TB"), (9, "GB"), (6, "MB"), (0, "bytes"))
                if n >= 10**p or p == 0)


class _Budget:
    """Counts the members and declared bytes of an archive as it is unpacked; refuses a bomb."""

    def __init__(self, archive: Path, max_bytes: int):
        self.archive, self.max_bytes, self.bytes, self.members = archive, max_bytes, 0, 0

    def add(self, name: str, size: int) -> None:
        self.bytes, self.members = self.bytes + size, self.members + 1
        if self.bytes > self.max_bytes or self.members > MAX_MEMBERS:
            raise DataError(
                f"{self.archive} unpacks to more than {_size(self.max_bytes)} (at {name!r}: "
                f"{_size(self.bytes)}, {self.members} members, from a {_size(self.archive.stat().st_size)} "
                f"archive): refused as an archive bomb; if it is the real release, unpack it by hand "
                f"into the pre-staged folder (data.prestaged_dir)")


def extract(archive: Path, dest_dir: Path, max_bytes: int | None = None) -> None:
    """Unpack a tar or zip archive into `dest_dir`, refusing what would be written elsewhere.

    Members with absolute paths or `..`, links pointing out, device files (tarfile's `data`
    filter) and archive bombs (more than `max_bytes`, by default `extraction_limit`, or
    `MAX_MEMBERS` members; counted from the headers before a member is written) are refused with a
    `DataError`; what was unpacked before stays inside `dest_dir`.
    """
    archive = Path(archive)
    dest_dir = Path(dest_dir).resolve()
    dest_dir.mkdir(parents=True, exist_ok=True)
    budget = _Budget(archive, extraction_limit(archive) if max_bytes is None else max_bytes)
    try:
        if zipfile.is_zipfile(archive):
            _extract_zip(archive, dest_dir, budget)
        else:
            _extract_tar(archive, dest_dir, budget)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, gzip.BadGzipFile,
            lzma.LZMAError) as e:
        raise DataError(f"cannot unpack {archive}: {e}; it is truncated or corrupt: delete it and "
                        "fetch it again") from e


def _extract_zip(archive: Path, dest_dir: Path, budget: _Budget) -> None:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            inside = (dest_dir / info.filename).resolve().is_relative_to(dest_dir)
            if info.filename.startswith("/") or not inside:
                raise DataError(f"{archive} holds {info.filename!r}, which escapes {dest_dir}")
            budget.add(info.filename, info.file_size)  # zipfile never unpacks more than this
        zf.extractall(dest_dir)


def _extract_tar(archive: Path, dest_dir: Path, budget: _Budget) -> None:
    def guard(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo:
        if member.name.startswith("/"):
            raise tarfile.AbsolutePathError(member)
        member = tarfile.data_filter(member, path)  # `..`, links out, devices
        budget.add(member.name, member.size)
        return member

    with tarfile.open(archive) as tf:
        try:
            tf.extractall(dest_dir, filter=guard)
        except tarfile.FilterError as e:
            raise DataError(f"{archive} holds an unsafe member: {e}") from e
