"""Download and verify one asset's files: weights, word vectors, a corpus (rule download_asset)."""
from pathlib import Path

from reprolab.data.assets import fetch_asset
from reprolab.data.download import fetch_options
from reprolab.job import job

with job(snakemake, uses_torch=False):  # noqa: F821
    fetch_asset(snakemake.wildcards.asset, Path(snakemake.output.manifest).parent,  # noqa: F821
                **fetch_options(snakemake.params.data))  # noqa: F821
