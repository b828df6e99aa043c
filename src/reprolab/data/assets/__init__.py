"""Assets: pretrained weights, word vectors and text corpora, stored in `data/assets/<asset>/`.

They go through the datasets' downloader (mirrors, resume, checksums or trust on first use,
`data.prestaged_dir`) and get the same `manifest.json`. One module per family lists its
assets in `ASSETS` and defines `write_fixture(asset, dest_dir, rng) -> list[Path]`: a tiny
copy in the real format for the smoke preset (no file for weights: smoke builds randomly
initialised networks).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from reprolab.data.assets import corpora, vectors, weights
from reprolab.data.download import FileRecord, digests, fetch, write_manifest
from reprolab.data.sources import Asset
from reprolab.errors import ConfigError, DataError

FAMILIES = {"weights": weights, "vectors": vectors, "corpus": corpora}
ASSETS: dict[str, Asset] = {a.name: a for family in FAMILIES.values() for a in family.ASSETS}


def asset(name: str) -> Asset:
    """The asset called `name`, with a clear error for an unknown one."""
    if name not in ASSETS:
        raise ConfigError(f"unknown asset {name!r}; known assets: {', '.join(sorted(ASSETS))}")
    return ASSETS[name]


def _header(a: Asset, **extra) -> dict:
    return {"asset": a.name, "kind": a.kind, "description": a.description, **extra}


def fetch_asset(name: str, dest_dir: Path, **options) -> list[FileRecord]:
    """Fetch every file of asset `name` into `dest_dir` and write its `manifest.json`.

    `options` are `fetch_file`'s (lock, prestaged_dir, verify...).
    """
    a = asset(name)
    records = fetch(a.files, dest_dir, name, **options)
    write_manifest(Path(dest_dir), records, **_header(a))
    return records


def write_asset_fixture(name: str, dest_dir: Path, seed: int = 0) -> None:
    """Write the fixture of asset `name` into `dest_dir`, with a manifest like a download's."""
    a = asset(name)
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    paths = FAMILIES[a.kind].write_fixture(a, dest_dir, np.random.default_rng(seed))
    records = [FileRecord(p.name, digests(p)["sha256"], p.stat().st_size, "fixture", "fixture")
               for p in paths]
    note = {} if paths else {"note": "fixtures: no file, the network is randomly initialised (seeded)"}
    write_manifest(dest_dir, records, **_header(a, fixture=True, **note))


def asset_file(name: str, asset_dir: Path) -> Path | None:
    """The (first) file of asset `name` in `asset_dir`; None for a weights fixture (no file)."""
    asset_dir = Path(asset_dir)
    manifest = asset_dir / "manifest.json"
    if not manifest.is_file():
        raise DataError(f"{manifest} is missing: run `snakemake {manifest}` to fetch asset {name!r}")
    files = json.loads(manifest.read_text())["files"]
    return asset_dir / files[0]["name"] if files else None
