"""Readers and writers of the publishers' on-disk formats (the writers make fixtures)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from reprolab.errors import DataError

_IDX_UBYTE = 0x08


def _open(path: Path, mode: str):
    return gzip.open(path, mode) if str(path).endswith(".gz") else open(path, mode)


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (MNIST's format), gzipped or not, as a uint8 array."""
    try:
        with _open(path, "rb") as f:
            zero, dtype, ndim = struct.unpack(">HBB", f.read(4))
            if zero != 0 or dtype != _IDX_UBYTE:
                raise DataError(f"{path} is not an unsigned-byte IDX file (header {zero}, {dtype})")
            shape = struct.unpack(f">{ndim}I", f.read(4 * ndim))
            data = np.frombuffer(f.read(), dtype=np.uint8)
    except (OSError, EOFError, struct.error) as e:
        raise DataError(f"cannot read IDX file {path}: {e}; delete it and fetch it again") from e
    if data.size != int(np.prod(shape)):
        raise DataError(f"{path} is truncated: {data.size} bytes for shape {shape}; fetch it again")
    return data.reshape(shape)


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (gzipped when the name ends in .gz)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    with _open(path, "wb") as f:
        f.write(struct.pack(">HBB", 0, _IDX_UBYTE, array.ndim))
        f.write(struct.pack(f">{array.ndim}I", *array.shape))
        f.write(array.tobytes())
