"""Files that are whole or absent: every result is written to a temp file beside it, then renamed.

A job killed, or a disk that fills up (ENOSPC), half-way through a write must not leave a truncated
file under the final name, where a later run (Snakemake, DVC, the report) would take it as done.
`atomic_write` writes `.<name>.<pid>.tmp` in the same folder, flushes it to disk, and renames it
over `path` (atomic on POSIX); on any error the temp file is removed and `path` is left as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", **open_options) -> Iterator[IO]:
    """A file object to write `path` with; `path` appears, complete, only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, mode, **open_options) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> Path:
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(text)
    return Path(path)


def write_json(path: str | Path, data: Any) -> Path:
    """`data` as indented JSON (metrics, summaries, manifests), non-ASCII text kept as it is."""
    return write_text(path, json.dumps(data, indent=2, ensure_ascii=False))


def save_torch(obj: Any, path: str | Path) -> Path:
    """`torch.save` through `atomic_write` (a model, a checkpoint, a prepared split, features)."""
    import torch

    with atomic_write(path, "wb") as f:
        try:
            torch.save(obj, f)
        except RuntimeError as e:  # torch's writer reports a failed write (ENOSPC...) as "unexpected pos"
            cause = e.__cause__ or e.__context__
            if isinstance(cause, OSError):
                raise cause from e
            raise
    return Path(path)


def load_torch(path: str | Path, remedy: str, map_location: Any = None) -> Any:
    """What `save_torch` wrote, as plain data (`weights_only`: a pickled object is refused, not run).

    A truncated, corrupt or hostile file: a `DataError` naming it, followed by `remedy`.
    """
    import pickle

    import torch

    from reprolab.errors import DataError

    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, ValueError) as e:
        reason = str(e).strip().splitlines()[0]
        raise DataError(f"cannot read {path} ({type(e).__name__}: {reason}); {remedy}") from e
