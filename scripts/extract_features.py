"""Extract one layer's features of a prepared dataset, once (rule extract_features)."""
from pathlib import Path

from reprolab.data.assets import asset_file
from reprolab.features import extract_dataset
from reprolab.job import job

with job(snakemake):  # noqa: F821
    backbone = snakemake.wildcards.backbone  # noqa: F821
    extract_dataset(
        backbone,
        snakemake.wildcards.layer,  # noqa: F821
        {split: Path(snakemake.input.prepared) / f"{split}.pt" for split in ("train", "test")},  # noqa: F821
        Path(snakemake.output.features),  # noqa: F821
        weights_path=asset_file(backbone, Path(snakemake.input.weights).parent),  # noqa: F821
        device=snakemake.params.device,  # noqa: F821
        size=snakemake.params.size,  # noqa: F821
    )
