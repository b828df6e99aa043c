"""Where every file of the pipeline lives: one module that the rules and the library share.

Paths are relative to the working directory (the repository root when Snakemake runs) and
returned as strings, the form Snakemake's `input:`/`output:` take. The data root comes from
config `data.root`.
"""

from __future__ import annotations

RESULTS = "results"
FEATURES = "features"


def raw_dir(data_root: str, dataset: str) -> str:
    """Downloaded (or fixture) release files of a dataset."""
    return f"{data_root}/raw/{dataset}"


def raw_manifest(data_root: str, dataset: str) -> str:
    """The provenance of a raw dataset folder (written last: its presence means done)."""
    return f"{raw_dir(data_root, dataset)}/manifest.json"


def prepared_dir(data_root: str, dataset: str) -> str:
    """A dataset prepared once: its splits (`<split>.pt`) and whatever else its preparation writes."""
    return f"{data_root}/prepared/{dataset}"


def asset_dir(data_root: str, asset: str) -> str:
    """Pretrained weights, word vectors or a corpus, fetched like a dataset's release files."""
    return f"{data_root}/assets/{asset}"


def asset_manifest(data_root: str, asset: str) -> str:
    return f"{asset_dir(data_root, asset)}/manifest.json"


def variant_dir(variant_id: str) -> str:
    """`results/<chapter>/<experiment>/<variant>`: a variant's combined results and figures."""
    return f"{RESULTS}/{variant_id}"


def seed_dir(variant_id: str, seed: int | str) -> str:
    """One training run of a variant."""
    return f"{variant_dir(variant_id)}/seed{seed}"


def chapter_summary(chapter: str) -> str:
    """The chapter's tables, figures and observations, read by the report."""
    return f"{RESULTS}/{chapter}/summary.json"


def chapter_figures(chapter: str) -> str:
    """The folder of the figures a chapter summary draws across variants."""
    return f"{RESULTS}/{chapter}/figures"


def features(backbone: str, layer: str, dataset: str) -> str:
    """Features of a dataset at one layer of a backbone, extracted once (`reprolab.features`)."""
    return f"{FEATURES}/{backbone}/{layer}/{dataset}.pt"
