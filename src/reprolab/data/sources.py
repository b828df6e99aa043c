"""Where every dataset file comes from: mirrors and published checksums (see DATASETS.md).

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

    @property
    def published_checksum(self) -> str | None:
        """`sha256:<hex>` or `md5:<hex>`, whichever the publisher gives (sha256 first)."""
        if self.sha256:
            return f"sha256:{self.sha256}"
        if self.md5:
            return f"md5:{self.md5}"
        return None


def _mirrored(name: str, bases: tuple[str, ...], **checksums) -> RemoteFile:
    return RemoteFile(name, tuple(base + name for base in bases), **checksums)


MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

SOURCES: dict[str, tuple[RemoteFile, ...]] = {
    "mnist": (
        _mirrored("train-images-idx3-ubyte.gz", MNIST_MIRRORS,
                  md5="f68b3c2dcbeaaa9fbdd348bbdeb94873", size=9_912_422),
        _mirrored("train-labels-idx1-ubyte.gz", MNIST_MIRRORS,
                  md5="d53e105ee54ea40749a09fcbcd1e9432", size=28_881),
        _mirrored("t10k-images-idx3-ubyte.gz", MNIST_MIRRORS,
                  md5="9fb629c4189551a2d022fa330f9573f3", size=1_648_877),
        _mirrored("t10k-labels-idx1-ubyte.gz", MNIST_MIRRORS,
                  md5="ec29112dd5afa0611ce80d1b7f02629c", size=4_542),
    ),
}


def files_of(dataset: str) -> tuple[RemoteFile, ...]:
    """The release files of `dataset`; a clear error for an unknown name."""
    from reprolab.errors import ConfigError

    try:
        return SOURCES[dataset]
    except KeyError:
        raise ConfigError(
            f"unknown dataset {dataset!r}; known datasets: {', '.join(sorted(SOURCES))}"
        ) from None
