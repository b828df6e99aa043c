"""One module per dataset, each defining:

- `FILES`: the release files (`RemoteFile`: name, mirrors, published checksum),
- `write_fixture(dest_dir, n_train, n_test, rng) -> list[Path]`: a tiny copy in the same
  on-disk format (for the smoke preset and the tests),
- `prepare(raw_dir) -> {split: {"x": Tensor, "y": Tensor}}`: raw files -> tensors.

A new dataset is a new module here; nothing else needs to change.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from reprolab.errors import ConfigError


def known() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__))


def dataset_module(name: str) -> ModuleType:
    """The module of dataset `name`, with a clear error for an unknown name."""
    if name not in known():
        raise ConfigError(f"unknown dataset {name!r}; known datasets: {', '.join(known())}")
    return importlib.import_module(f"{__name__}.{name}")
