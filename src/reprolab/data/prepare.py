"""Raw release files -> tensors, once per dataset (the folder `data/prepared/<dataset>/`).

A dataset module's `prepare` returns `{name: content}` and each entry is saved as `<name>.pt`:
the splits (`train`, `test`, and `val` or others where a release has them), each a dict
`{"x": Tensor[N, ...] (uint8 or float), "y": Tensor[N]}` that training jobs load straight onto
the device, and anything else the dataset's consumers need (a vocabulary, a list of image
names), as tensors, lists, dicts and strings: what `torch.load(weights_only=True)` reads.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import torch

from reprolab.atomic import load_torch, save_torch
from reprolab.errors import ConfigError, DataError


def prepare_dataset(dataset: str, raw_dir: Path, out_dir: Path, options: dict | None = None) -> list[Path]:
    """Prepare `dataset` and save one `.pt` file per entry its module's `prepare` returns.

    `options` (config `data.prepare.<dataset>`) are keyword arguments of the module's `prepare`.
    """
    from reprolab.data.datasets import dataset_module

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    prepare = dataset_module(dataset).prepare
    try:
        inspect.signature(prepare).bind(raw_dir, **(options or {}))
    except TypeError as e:
        raise ConfigError(f"data.prepare.{dataset}: {e}; see reprolab.data.datasets.{dataset}.prepare "
                          f"for its options") from None
    for split, tensors in prepare(Path(raw_dir), **(options or {})).items():
        path = out_dir / f"{split}.pt"
        save_torch(tensors, path)
        paths.append(path)
    return paths


def load_split(prepared_dir: Path, split: str) -> dict[str, torch.Tensor]:
    """One prepared split, with a clear error if the preparation step has not run."""
    path = Path(prepared_dir) / f"{split}.pt"
    if not path.exists():
        raise DataError(f"{path} is missing: run `snakemake {path}` to prepare it")
    return load_torch(path, f"delete {prepared_dir} and run `snakemake {prepared_dir}` to prepare it again")
