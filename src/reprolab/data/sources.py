"""Release files and their mirrors: `FILES` of each dataset module, `ASSETS` of each asset family.

A file without a published checksum is verified by trust on first use: its sha256 is
recorded in the lock file at first download and checked on every later one. torchvision's
weight files publish only the first hex digits of their sha256, in their name
(`vgg16-397923af.pth`): that prefix is checked, and the full sha256 recorded beside it.
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
    sha256_prefix: str | None = None  # the first hex digits of the sha256 (torch.hub's file names)
    size: int | None = None
    gdrive_id: str | None = None  # a Google Drive file id, fetched with gdown after the URLs
    folder: str | None = None  # the archive's data folder; a pre-staged copy of it is accepted

    @property
    def published_checksum(self) -> str | None:
        """`sha256:<hex>`, `md5:<hex>` or `sha256-prefix:<hex>`, the strongest the publisher gives."""
        if self.sha256:
            return f"sha256:{self.sha256}"
        if self.md5:
            return f"md5:{self.md5}"
        if self.sha256_prefix:
            return f"sha256-prefix:{self.sha256_prefix}"
        return None


@dataclass(frozen=True)
class Asset:
    """Pretrained weights, word vectors or a text corpus: files fetched like a dataset's."""

    name: str
    kind: str  # weights | vectors | corpus
    files: tuple[RemoteFile, ...]
    description: str  # one line for the report


def mirrored(name: str, bases: tuple[str, ...], **checksums) -> RemoteFile:
    """A file served under the same name by several base URLs."""
    return RemoteFile(name, tuple(base + name for base in bases), **checksums)


def files_of(dataset: str) -> tuple[RemoteFile, ...]:
    """The release files of `dataset`."""
    from reprolab.data.datasets import dataset_module

    return dataset_module(dataset).FILES
