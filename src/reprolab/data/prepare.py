"""Raw release files -> tensors, once per dataset (`data/prepared/<dataset>/<split>.pt`).

Every prepared split is a dict `{"x": Tensor[N, C, H, W] (uint8 or float), "y": Tensor[N]}`
that training jobs load straight onto the device.
"""

from __future__ import annotations

from pathlib import Path

import torch

from reprolab.data.formats import read_idx
from reprolab.errors import ConfigError, DataError


def prepare_mnist(raw_dir: Path) -> dict[str, dict[str, torch.Tensor]]:
    """MNIST from the original IDX files: uint8 images [N, 1, 28, 28] and int64 labels."""
    splits = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = read_idx(raw_dir / f"{prefix}-images-idx3-ubyte.gz")
        labels = read_idx(raw_dir / f"{prefix}-labels-idx1-ubyte.gz")
        if len(images) != len(labels):
            raise DataError(f"MNIST {split}: {len(images)} images but {len(labels)} labels in {raw_dir}")
        splits[split] = {
            "x": torch.from_numpy(images.copy()).unsqueeze(1),
            "y": torch.from_numpy(labels.astype("int64")),
        }
    return splits


PREPARERS = {"mnist": prepare_mnist}


def prepare_dataset(dataset: str, raw_dir: Path, out_dir: Path) -> list[Path]:
    """Prepare every split of `dataset` and save one tensor file per split."""
    try:
        preparer = PREPARERS[dataset]
    except KeyError:
        raise ConfigError(f"no preparation for dataset {dataset!r}; "
                          f"known: {', '.join(sorted(PREPARERS))}") from None
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for split, tensors in preparer(Path(raw_dir)).items():
        path = out_dir / f"{split}.pt"
        torch.save(tensors, path)
        paths.append(path)
    return paths


def load_split(prepared_dir: Path, split: str) -> dict[str, torch.Tensor]:
    """One prepared split, with a clear error if the preparation step has not run."""
    path = Path(prepared_dir) / f"{split}.pt"
    if not path.exists():
        raise DataError(f"{path} is missing: run `snakemake {path}` to prepare it")
    return torch.load(path, weights_only=True)
