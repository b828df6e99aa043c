"""Release files and their mirrors; each dataset module lists its own in `FILES`.

A file without a published checksum is verified by trust on first use: its sha256 is
recorded in the lock file at first download and checked on every later one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset release and the places it can be downloaded from."""

    name: str
    urls: tuple[str, ...]
    md5: str | None = None
    sha256: str | None = None
    size: int | None = None
    gdrive_id: str | None = None  # a Google Drive file id, fetched with gdown after the URLs
    folder: str | None = None  # the archive's data folder; a pre-staged copy of it is accepted

    @property
    def published_checksum(self) -> str | None:
        """`sha256:<hex>` or `md5:<hex>`, whichever the publisher gives (sha256 first)."""
        if self.sha256:
            return f"sha256:{self.sha256}"
        if self.md5:
            return f"md5:{self.md5}"
        return None


def mirrored(name: str, bases: tuple[str, ...], **checksums) -> RemoteFile:
    """A file served under the same name by several base URLs."""
    return RemoteFile(name, tuple(base + name for base in bases), **checksums)


def files_of(dataset: str) -> tuple[RemoteFile, ...]:
    """The release files of `dataset`."""
    from reprolab.data.datasets import dataset_module

    return dataset_module(dataset).FILES
