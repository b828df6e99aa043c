"""Features of pretrained backbones, extracted once per (backbone, layer, dataset).

`features/<backbone>/<layer>/<dataset>.pt` holds `{split: {"x": float16 [N, D], "y": labels}}`;
every consumer (linear probes, SVMs, retrieval) reads it instead of running the backbone.
This top level stays free of torch so that Snakemake's rules can import the path convention
without paying for torch at every parse; the extraction is in `reprolab.features.extract`.
"""

from __future__ import annotations

from pathlib import Path


def features_path(backbone: str, layer: str, dataset: str) -> Path:
    """Where the features of `dataset` at `layer` of `backbone` are stored."""
    return Path("features") / backbone / layer / f"{dataset}.pt"
