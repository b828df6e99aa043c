"""Readers and writers of the publishers' on-disk formats (the writers make fixtures)."""

from __future__ import annotations

import gzip
import io
import pickle
import struct
from pathlib import Path
from typing import Any

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


class _ArraysOnly(pickle.Unpickler):
    """An unpickler that builds containers, numbers, bytes and numpy arrays, and nothing else.

    pickle runs whatever callable a file names; this one refuses every global but the three a
    pickled numpy array needs, so a hostile file raises instead of running code.
    """

    _reconstruct = np.zeros(0).__reduce__()[0]
    ALLOWED = {("numpy.core.multiarray", "_reconstruct"): _reconstruct,
               ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
               ("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self.ALLOWED[module, name]
        except KeyError:
            raise pickle.UnpicklingError(f"it names {module}.{name}, and only numpy arrays are "
                                         "allowed") from None


def read_pickle(data: bytes, where: str, remedy: str) -> Any:
    """Unpickle `data` (the pickle `where`) with `_ArraysOnly`; Python 2 `str` become `bytes`, as the
    CIFAR-10 release (written by Python 2's cPickle) needs. A bad pickle: a `DataError` naming it,
    then `remedy`."""
    try:
        return _ArraysOnly(io.BytesIO(data), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as e:
        raise DataError(f"cannot read the pickle {where}: {e}; {remedy}") from e


class _Python2Pickler(pickle._Pickler):
    """Pickles `bytes` and ASCII `str` as Python 2 `str` (BINSTRING), as Python 2's cPickle wrote
    the CIFAR-10 batches (numpy's dtype codes included)."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_bytes(self, obj: bytes) -> None:
        head = (pickle.SHORT_BINSTRING + bytes([len(obj)]) if len(obj) < 256
                else pickle.BINSTRING + struct.pack("<i", len(obj)))
        self.write(head + obj)
        self.memoize(obj)

    def save_str(self, obj: str) -> None:
        if obj.isascii():
            self.save_bytes(obj.encode())
        else:
            super().save_str(obj)

    dispatch[bytes], dispatch[str] = save_bytes, save_str


def py2_pickle(obj: Any) -> bytes:
    """`obj` pickled as Python 2 did (protocol 2, byte strings as `str`, numpy's old module name)."""
    buffer = io.BytesIO()
    _Python2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
