"""Fetch dataset and asset files safely: pre-staged copy first, then each mirror in turn.

Every file goes to `<name>.part` (resumed with an HTTP Range request where the server
allows), is verified against the published checksum (or the trust-on-first-use lock file),
and only then renamed into place, so an interrupted or corrupt download never looks done.
Written on the standard library (urllib handles http, https and file URLs alike) because
resuming a partial download is the one thing the usual helpers (pooch, torchvision) lack.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import sys
import tarfile
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

from tqdm import tqdm

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
    lock so that parallel download jobs never lose each other's entries.
    """

    def __init__(self, path: Path):
        self.path = Path(path)

    def get(self, dataset: str, name: str) -> str | None:
        if not self.path.exists():
            return None
        return json.loads(self.path.read_text() or "{}").get(dataset, {}).get(name)

    def record(self, dataset: str, name: str, sha256: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            f.seek(0)
            entries = json.loads(f.read() or "{}")
            entries.setdefault(dataset, {})[name] = sha256
            f.seek(0)
            f.truncate()
            json.dump(entries, f, indent=2, sort_keys=True)
            f.write("\n")


def _download(url: str, part: Path, retries: int, backoff: float, timeout: float) -> None:
    """Download `url` into `part`, resuming what is there; retry with exponential back-off."""
    last_error: Exception | None = None
    for attempt in range(retries):
        have = part.stat().st_size if part.exists() else 0
        headers = {"User-Agent": "reprolab"} | ({"Range": f"bytes={have}-"} if have else {})
        try:
            with urlopen(Request(url, headers=headers), timeout=timeout) as resp:
                if have and getattr(resp, "status", None) != 206:
                    have = 0  # the server ignored the range: start again
                length = resp.headers.get("Content-Length")
                total = int(length) + have if length else None
                with open(part, "ab" if have else "wb") as out, tqdm(
                    total=total, initial=have, unit="B", unit_scale=True,
                    desc=part.stem, disable=None, leave=False,
                ) as bar:
                    while chunk := resp.read(CHUNK):
                        out.write(chunk)
                        bar.update(len(chunk))
            if total is not None and part.stat().st_size < total:
                raise OSError(f"connection closed at {part.stat().st_size} of {total} bytes")
            return
        except HTTPError as e:
            if e.code == 416:  # range beyond the end: our partial file is stale
                part.unlink(missing_ok=True)
            elif 400 <= e.code < 500 and e.code not in (408, 429):
                raise  # not found, forbidden...: retrying will not help
            last_error = e
        except (URLError, OSError, TimeoutError) as e:
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
        sha, ok = _check(target, expected)
        if ok or (ok is None and expected is None):
            return _record(remote, target, sha, "cache", ok, published, dataset, lock)
        log.warning("%s does not match %s; fetching it again", target, expected)

    folder = _staged_folder(remote, dataset, prestaged_dir)
    if folder is not None and not _staged(remote, dataset, prestaged_dir):
        return _copy_staged_folder(remote, folder, dest_dir, dataset, lock, verify)

    part = target.with_name(target.name + ".part")
    failures = []
    for source in _candidates(remote, dataset, prestaged_dir):
        try:
            if source.startswith("gdrive:"):
                _download_gdrive(source.removeprefix("gdrive:"), part)
            elif "://" in source:
                _download(source, part, retries, backoff, timeout)
            else:
                shutil.copyfile(source, part)
        except (OSError, URLError) as e:
            failures.append(f"{source}: {e}")
            continue
        sha, ok = _check(part, expected)
        if ok is False and verify == "strict":
            failures.append(f"{source}: checksum {expected} expected, got sha256:{sha}")
            part.unlink()
            continue
        if ok is False:
            log.warning("%s from %s differs from the official release (%s expected); "
                        "kept because data.verify is 'warn'", remote.name, source, expected)
        os.replace(part, target)
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
    path.write_text(json.dumps({**header, "files": [asdict(r) for r in records]}, indent=2))
    return path


def extract(archive: Path, dest_dir: Path) -> None:
    """Unpack a tar or zip archive, refusing members that would land outside `dest_dir`."""
    dest_dir = Path(dest_dir).resolve()
    dest_dir.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                if not (dest_dir / member).resolve().is_relative_to(dest_dir):
                    raise DataError(f"{archive} holds {member!r}, which escapes {dest_dir}")
            zf.extractall(dest_dir)
        return
    try:
        with tarfile.open(archive) as tf:
            tf.extractall(dest_dir, filter="data")
    except tarfile.FilterError as e:
        raise DataError(f"{archive} holds an unsafe member: {e}") from e
    except tarfile.ReadError as e:
        raise DataError(f"{archive} is neither a zip nor a tar archive: {e}") from e
